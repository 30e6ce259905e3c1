// rtnetlink requests as bytes: the netlink header, the family header of each object kind
// (ifinfomsg, ifaddrmsg, rtmsg, ndmsg) and its attributes, laid out as <linux/rtnetlink.h> says.
// Pure: the socket (src/sys/netlink.ts) sends them; test/unit/network-rtnl.test.ts checks bytes.
import {
  NLMSG_HDRLEN, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE, NLM_F_REQUEST, align4, writeHeader,
} from "../sys/netlink-frame.ts";
import type { Family } from "./ip.ts";

export const RTM_NEWLINK = 16, RTM_GETLINK = 18, RTM_SETLINK = 19;
export const RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24, RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;

export const AF_UNSPEC = 0, AF_INET = 2, AF_INET6 = 10;
export { IFF_NOARP, IFF_UP } from "../sys/consts.ts";
export const IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINKINFO = 18, IFLA_INFO_KIND = 1;
export const IFA_ADDRESS = 1, IFA_LOCAL = 2;
export const RTA_DST = 1, RTA_SRC = 2, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PREFSRC = 7, RTA_METRICS = 8, RTA_TABLE = 15;
export const RTAX_MTU = 2;
export const RT_TABLE_MAIN = 254, RTPROT_BOOT = 3, RTPROT_KERNEL = 2, RTN_UNICAST = 1;
export const NDA_DST = 1, NDA_LLADDR = 2;
export const NUD_PERMANENT = 0x80;
// The one rtm_flags bit a request may set (DEAD, LINKDOWN, ... are the kernel's to report).
export const RTNH_F_ONLINK = 4;

export const afOf = (f: Family) => (f === 4 ? AF_INET : AF_INET6);

type Attr = [type: number, data: Uint8Array];

export function u32Attr(type: number, v: number): Attr {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return [type, b];
}

/** A NUL-terminated string attribute (IFLA_IFNAME). */
export function strAttr(type: number, s: string): Attr {
  const text = new TextEncoder().encode(s);
  const b = new Uint8Array(text.length + 1);
  b.set(text);
  return [type, b];
}

/** Attributes packed one after another, each padded to 4 bytes (also the body of a nested one). */
export function packAttrs(attrs: Attr[]): Uint8Array {
  let n = 0;
  for (const [, d] of attrs) n += align4(4 + d.length);
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  let off = 0;
  for (const [type, d] of attrs) {
    dv.setUint16(off, 4 + d.length, true);
    dv.setUint16(off + 2, type, true);
    out.set(d, off + 4);
    off += align4(4 + d.length);
  }
  return out;
}

/** header + family header + attributes; seq 0 (the socket sets it). */
export function message(type: number, flags: number, fixed: Uint8Array, attrs: Attr[] = []): Uint8Array {
  const body = packAttrs(attrs);
  const out = new Uint8Array(NLMSG_HDRLEN + align4(fixed.length) + body.length);
  out.set(fixed, NLMSG_HDRLEN);
  out.set(body, NLMSG_HDRLEN + align4(fixed.length));
  writeHeader(out, type, flags, 0);
  return out;
}

const CHANGE = NLM_F_REQUEST | NLM_F_ACK;
const DUMP = NLM_F_REQUEST | NLM_F_DUMP;

/** struct ifinfomsg { u8 family, pad; u16 type; i32 index; u32 flags, change; } */
function ifinfomsg(index: number, flags = 0, change = 0): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setInt32(4, index, true);
  dv.setUint32(8, flags >>> 0, true);
  dv.setUint32(12, change >>> 0, true);
  return b;
}

export const dumpLinks = () => message(RTM_GETLINK, DUMP, ifinfomsg(0));

export interface LinkChange {
  index: number;
  /** Flag bits to set or clear, and which bits `flags` speaks for (ifi_change). */
  flags?: number;
  change?: number;
  name?: string;
  mtu?: number;
  address?: Uint8Array;
}

export function setLink(c: LinkChange): Uint8Array {
  const attrs: Attr[] = [];
  if (c.name !== undefined) attrs.push(strAttr(IFLA_IFNAME, c.name));
  if (c.mtu !== undefined) attrs.push(u32Attr(IFLA_MTU, c.mtu));
  if (c.address !== undefined) attrs.push([IFLA_ADDRESS, c.address]);
  return message(RTM_SETLINK, CHANGE, ifinfomsg(c.index, c.flags ?? 0, c.change ?? 0), attrs);
}

/** struct ifaddrmsg { u8 family, prefixlen, flags, scope; u32 index; } */
function ifaddrmsg(family: number, prefix: number, index: number): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = family;
  b[1] = prefix;
  new DataView(b.buffer).setUint32(4, index >>> 0, true);
  return b;
}

export const dumpAddresses = (family = AF_UNSPEC) => message(RTM_GETADDR, DUMP, ifaddrmsg(family, 0, 0));

export interface AddressSpec {
  index: number;
  family: Family;
  bytes: Uint8Array;
  prefix: number;
}

/** Adds (or replaces) an address: IFA_LOCAL and IFA_ADDRESS both carry it, as `ip addr add` sends. */
export function newAddress(a: AddressSpec): Uint8Array {
  return message(RTM_NEWADDR, CHANGE | NLM_F_CREATE | NLM_F_REPLACE, ifaddrmsg(afOf(a.family), a.prefix, a.index), [
    [IFA_LOCAL, a.bytes],
    [IFA_ADDRESS, a.bytes],
  ]);
}

export function delAddress(a: AddressSpec): Uint8Array {
  return message(RTM_DELADDR, CHANGE, ifaddrmsg(afOf(a.family), a.prefix, a.index), [
    [IFA_LOCAL, a.bytes],
    [IFA_ADDRESS, a.bytes],
  ]);
}

/** struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; } */
function rtmsg(r: { family: number; dstLen: number; srcLen: number; table: number; protocol: number; scope: number; type: number; flags: number }): Uint8Array {
  const b = new Uint8Array(12);
  b.set([r.family, r.dstLen, r.srcLen, 0, r.table, r.protocol, r.scope, r.type]);
  new DataView(b.buffer).setUint32(8, r.flags >>> 0, true);
  return b;
}

export const dumpRoutes = (family: number) =>
  message(RTM_GETROUTE, DUMP, rtmsg({ family, dstLen: 0, srcLen: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 }));

export interface RouteSpec {
  family: Family;
  dest: Uint8Array;
  destPrefix: number;
  oif: number;
  gateway?: Uint8Array;
  /** RTA_SRC with its prefix length (source routing) ... */
  src?: { bytes: Uint8Array; prefix: number };
  /** ... or RTA_PREFSRC (the address the route prefers as its source). */
  prefSrc?: Uint8Array;
  scope: number;
  /** rtm_flags: RTNH_F_ONLINK and friends. */
  flags: number;
  mtu: number;
  /** Default RTPROT_BOOT (Kata's); a rollback puts a route back with the protocol it had. */
  protocol?: number;
}

/** A main-table unicast route, protocol boot, created or replaced (Kata's UpdateRoutes). */
export function newRoute(r: RouteSpec): Uint8Array {
  const fixed = rtmsg({
    family: afOf(r.family), dstLen: r.destPrefix, srcLen: r.src?.prefix ?? 0, table: RT_TABLE_MAIN,
    protocol: r.protocol ?? RTPROT_BOOT, scope: r.scope, type: RTN_UNICAST, flags: r.flags,
  });
  const attrs: Attr[] = [];
  if (r.destPrefix > 0) attrs.push([RTA_DST, r.dest]);
  if (r.src) attrs.push([RTA_SRC, r.src.bytes]);
  attrs.push(u32Attr(RTA_OIF, r.oif));
  if (r.gateway) attrs.push([RTA_GATEWAY, r.gateway]);
  if (r.prefSrc) attrs.push([RTA_PREFSRC, r.prefSrc]);
  if (r.mtu > 0) attrs.push([RTA_METRICS, packAttrs([u32Attr(RTAX_MTU, r.mtu)])]);
  return message(RTM_NEWROUTE, CHANGE | NLM_F_CREATE | NLM_F_REPLACE, fixed, attrs);
}

export interface NeighbourSpec {
  family: Family;
  index: number;
  ip: Uint8Array;
  lladdr?: Uint8Array;
  state: number;
  flags: number;
}

/** struct ndmsg { u8 family, pad1; u16 pad2; i32 ifindex; u16 state; u8 flags, type; } */
export function newNeighbour(n: NeighbourSpec): Uint8Array {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  b[0] = afOf(n.family);
  dv.setInt32(4, n.index, true);
  dv.setUint16(8, n.state, true);
  b[10] = n.flags;
  const attrs: Attr[] = [[NDA_DST, n.ip]];
  if (n.lladdr) attrs.push([NDA_LLADDR, n.lladdr]);
  return message(RTM_NEWNEIGH, CHANGE | NLM_F_CREATE | NLM_F_REPLACE, b, attrs);
}
