// rtnetlink answers as plain objects: RTM_NEWLINK / RTM_NEWADDR / RTM_NEWROUTE messages of a dump.
// Pure; unknown attributes are skipped, short messages are dropped rather than misread.
import { parseAttrs, type NlMsg } from "../sys/netlink-frame.ts";
import {
  AF_INET, AF_INET6, IFA_ADDRESS, IFA_LOCAL, IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU,
  RTAX_MTU, RTA_DST, RTA_GATEWAY, RTA_METRICS, RTA_OIF, RTA_PREFSRC, RTA_SRC, RTA_TABLE, RTM_NEWADDR, RTM_NEWLINK,
  RTM_NEWROUTE,
} from "./rtnl-encode.ts";
import type { Family } from "./ip.ts";

const text = (b: Uint8Array | undefined) => {
  if (!b) return "";
  const end = b.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? b.subarray(0, end) : b);
};
const u32 = (b: Uint8Array | undefined) =>
  b && b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : undefined;
const view = (m: NlMsg) => new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
const familyOf = (af: number): Family | undefined => (af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined);

export interface LinkInfo {
  index: number;
  name: string;
  /** Hardware address bytes (empty for links without one). */
  mac: Uint8Array;
  mtu: number;
  /** ifi_flags (IFF_UP, IFF_NOARP, ...). */
  flags: number;
  /** IFLA_INFO_KIND ("veth", "bridge", ...), "" for plain devices. */
  kind: string;
}

export function decodeLink(m: NlMsg): LinkInfo | null {
  if (m.type !== RTM_NEWLINK || m.payload.length < 16) return null;
  const dv = view(m);
  const a = parseAttrs(m.payload, 16);
  const info = a.get(IFLA_LINKINFO);
  return {
    index: dv.getInt32(4, true),
    flags: dv.getUint32(8, true),
    name: text(a.get(IFLA_IFNAME)),
    mac: a.get(IFLA_ADDRESS)?.slice() ?? new Uint8Array(0),
    mtu: u32(a.get(IFLA_MTU)) ?? 0,
    kind: info ? text(parseAttrs(info).get(IFLA_INFO_KIND)) : "",
  };
}

export interface AddressInfo {
  index: number;
  family: Family;
  prefix: number;
  scope: number;
  /** IFA_LOCAL when present (the interface's own address on point-to-point links), else IFA_ADDRESS. */
  bytes: Uint8Array;
}

export function decodeAddress(m: NlMsg): AddressInfo | null {
  if (m.type !== RTM_NEWADDR || m.payload.length < 8) return null;
  const p = m.payload;
  const family = familyOf(p[0]!);
  if (!family) return null;
  const a = parseAttrs(p, 8);
  const bytes = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  if (!bytes) return null;
  return { family, prefix: p[1]!, scope: p[3]!, index: view(m).getUint32(4, true), bytes: bytes.slice() };
}

export interface RouteInfo {
  family: Family;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
  dest?: Uint8Array;
  destPrefix: number;
  src?: Uint8Array;
  srcPrefix: number;
  gateway?: Uint8Array;
  prefSrc?: Uint8Array;
  oif?: number;
  mtu: number;
}

export function decodeRoute(m: NlMsg): RouteInfo | null {
  if (m.type !== RTM_NEWROUTE || m.payload.length < 12) return null;
  const p = m.payload;
  const family = familyOf(p[0]!);
  if (!family) return null;
  const a = parseAttrs(p, 12);
  const metrics = a.get(RTA_METRICS);
  return {
    family,
    destPrefix: p[1]!,
    srcPrefix: p[2]!,
    // RTA_TABLE holds table ids above 255; rtm_table then says RT_TABLE_COMPAT.
    table: u32(a.get(RTA_TABLE)) ?? p[4]!,
    protocol: p[5]!,
    scope: p[6]!,
    type: p[7]!,
    flags: view(m).getUint32(8, true),
    dest: a.get(RTA_DST)?.slice(),
    src: a.get(RTA_SRC)?.slice(),
    gateway: a.get(RTA_GATEWAY)?.slice(),
    prefSrc: a.get(RTA_PREFSRC)?.slice(),
    oif: u32(a.get(RTA_OIF)),
    mtu: (metrics && u32(parseAttrs(metrics).get(RTAX_MTU))) ?? 0,
  };
}
