// Netlink framing, pure (no FFI): the 16-byte nlmsghdr, 4-byte-aligned attributes (struct nlattr /
// rtattr: u16 len, u16 type, data), and the NLMSG_ERROR payload. Little-endian: netlink uses the
// host's byte order and every target of the agent is little-endian.
// The socket (sys/netlink.ts) and the rtnetlink messages (network/) both build on this.

export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
// Flags the kernel sets on an NLMSG_ERROR with NETLINK_CAP_ACK / NETLINK_EXT_ACK.
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;

export const align4 = (n: number) => (n + 3) & ~3;

export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The bytes after the header (a view into the received datagram). */
  payload: Uint8Array;
}

/** The messages of one datagram. A length that runs past the end is a framing error. */
export function splitMessages(buf: Uint8Array): NlMsg[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NlMsg[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = dv.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new Error(`netlink: message at byte ${off} claims ${len} bytes, ${buf.length - off} left`);
    }
    out.push({
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      pid: dv.getUint32(off + 12, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Writes the header of a message built with space for it; len is the whole message. */
export function writeHeader(msg: Uint8Array, type: number, flags: number, seq: number): void {
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  dv.setUint32(0, msg.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq >>> 0, true);
  dv.setUint32(12, 0, true);
}

/** Sets the sequence number of an encoded message (bytes 8..11). */
export function setSeq(msg: Uint8Array, seq: number): void {
  new DataView(msg.buffer, msg.byteOffset, msg.byteLength).setUint32(8, seq >>> 0, true);
}

/** Attributes as type → data (the last one wins; nested attributes are parsed again by callers). */
export function parseAttrs(buf: Uint8Array, from = 0): Map<number, Uint8Array> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Map<number, Uint8Array>();
  let off = from;
  while (off + 4 <= buf.length) {
    const len = dv.getUint16(off, true);
    if (len < 4 || off + len > buf.length) break;
    // NLA_F_NESTED / NLA_F_NET_BYTEORDER live in the top two bits of the type.
    out.set(dv.getUint16(off + 2, true) & 0x3fff, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

export interface NlErrorInfo {
  /** 0 for an ACK, else a positive errno. */
  errno: number;
  /** The kernel's extended-ACK text (NLMSGERR_ATTR_MSG), when it gave one. */
  text?: string;
}

/** The payload of NLMSG_ERROR: i32 -errno, the request's header (and body unless capped), TLVs. */
export function parseError(m: NlMsg): NlErrorInfo {
  const p = m.payload;
  if (p.length < 4) return { errno: 5 /* EIO: a truncated error is still an error */ };
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const errno = -dv.getInt32(0, true) || 0; // never -0
  if (errno === 0 || !(m.flags & NLM_F_ACK_TLVS) || p.length < 4 + NLMSG_HDRLEN) return { errno };
  const reqLen = m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : dv.getUint32(4, true);
  const text = parseAttrs(p, 4 + align4(reqLen)).get(NLMSGERR_ATTR_MSG);
  if (!text) return { errno };
  const end = text.indexOf(0);
  return { errno, text: new TextDecoder().decode(end >= 0 ? text.subarray(0, end) : text) };
}
