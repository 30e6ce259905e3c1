// The NETLINK_ROUTE socket. rtnetlink is request/response with the kernel answering at once, so a
// blocking sendto + recv through FFI is the whole transport (a Bun stream on a datagram socket
// loses datagrams; see docs/DESIGN.md). Each request carries a fresh sequence number; replies with
// another number (a late answer to an earlier request) are dropped. A dump is read until
// NLMSG_DONE; every other request asks for an ACK, and an NLMSG_ERROR becomes a NetlinkError
// naming the request. SO_RCVTIMEO bounds a recv, so a kernel that never answers cannot hang the
// agent's thread.
import type { ErrorKind } from "../errors.ts";
import { errnoName } from "./errno.ts";
import { C, check, errno, ptr } from "./libc.ts";
import {
  NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLM_F_DUMP, parseError, setSeq, splitMessages, type NlMsg,
} from "./netlink-frame.ts";

import { AF_NETLINK, SOCK_CLOEXEC, SOCK_RAW, SOL_SOCKET } from "./consts.ts";

const NETLINK_ROUTE = 0;
const SO_RCVTIMEO = 20;
const SO_RCVBUF = 8;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const MSG_TRUNC = 0x20;
const EINTR = 4, EAGAIN = 11, ETIMEDOUT = 110;
const RECV_TIMEOUT_S = 5;

// Which status a kernel refusal deserves: the value we were asked to set was wrong (invalid),
// the object is missing or already there, or the system failed (internal).
const ERRNO_KIND: Record<number, ErrorKind> = {
  22: "invalid", // EINVAL
  34: "invalid", // ERANGE
  101: "invalid", // ENETUNREACH: a gateway not reachable through the device
  97: "invalid", // EAFNOSUPPORT
  19: "not-found", // ENODEV
  2: "not-found", // ENOENT
  3: "not-found", // ESRCH
  17: "exists", // EEXIST
};

/** The kernel refused a netlink request: names the request, the errno and the kernel's own text. */
export class NetlinkError extends Error {
  readonly kind: ErrorKind;
  constructor(readonly request: string, readonly errno: number, readonly kernelText?: string) {
    super(`${request}: ${errnoName(errno)}${kernelText ? ` (${kernelText})` : ""}`);
    this.name = "NetlinkError";
    this.kind = ERRNO_KIND[errno] ?? "internal";
  }
  get code(): string {
    return errnoName(this.errno);
  }
}

// struct sockaddr_nl { u16 family; u16 pad; u32 pid; u32 groups; }: pid 0 is the kernel.
const kernelAddr = new Uint8Array(new ArrayBuffer(12));
new DataView(kernelAddr.buffer).setUint16(0, AF_NETLINK, true);
// One receive buffer for the socket's life (FFI trap: ArrayBuffer-backed, kept referenced).
// A dump datagram is at most 32 KiB; twice that leaves room.
const recvBuf = new Uint8Array(new ArrayBuffer(64 * 1024));

export class RouteSocket {
  private seq = Math.floor(Date.now() / 1000) & 0xffff;
  private constructor(private fd: number) {}

  static open(): RouteSocket {
    const fd = check("socket(AF_NETLINK, NETLINK_ROUTE)", C.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    try {
      check("bind(AF_NETLINK)", C.bind(fd, ptr(kernelAddr), 12));
      const one = new Int32Array(new ArrayBuffer(4));
      one[0] = 1;
      // Best effort: short ACKs, and the kernel's explanation of an error when it has one.
      C.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, ptr(one), 4);
      C.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, ptr(one), 4);
      const rcvbuf = new Int32Array(new ArrayBuffer(4));
      rcvbuf[0] = 1 << 20;
      C.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, ptr(rcvbuf), 4);
      const tv = new BigInt64Array(new ArrayBuffer(16)); // struct timeval { i64 sec; i64 usec; }
      tv[0] = BigInt(RECV_TIMEOUT_S);
      check("setsockopt(SO_RCVTIMEO)", C.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, ptr(tv), 16));
    } catch (e) {
      C.close(fd);
      throw e;
    }
    return new RouteSocket(fd);
  }

  /**
   * Sends one encoded request (its seq field is overwritten) and returns the kernel's data
   * messages: every part of a dump, or nothing for an acknowledged change. Every non-dump request
   * must carry NLM_F_ACK (the ACK is what ends the wait). `what` names the
   * request in errors, e.g. "RTM_NEWADDR 10.0.0.2/24 on eth0".
   */
  request(msg: Uint8Array, what: string): NlMsg[] {
    if (this.fd < 0) throw new NetlinkError(what, 9 /* EBADF */);
    const seq = (this.seq = (this.seq + 1) >>> 0);
    // Own copy on a plain ArrayBuffer: held by this frame until sendto returns.
    const out = new Uint8Array(new ArrayBuffer(msg.length));
    out.set(msg);
    setSeq(out, seq);
    const dump = (new DataView(out.buffer).getUint16(6, true) & NLM_F_DUMP) === NLM_F_DUMP;
    for (;;) {
      if (C.sendto(this.fd, ptr(out), out.length, 0, ptr(kernelAddr), 12) >= 0) break;
      const e = errno();
      if (e !== EINTR) throw new NetlinkError(`${what}: sendto`, e);
    }
    const data: NlMsg[] = [];
    for (;;) {
      const n = C.recv(this.fd, ptr(recvBuf), recvBuf.length, MSG_TRUNC);
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        throw new NetlinkError(`${what}: recv`, e === EAGAIN ? ETIMEDOUT : e);
      }
      if (n > recvBuf.length) throw new NetlinkError(`${what}: recv (a ${n}-byte datagram was truncated)`, 90 /* EMSGSIZE */);
      for (const m of splitMessages(recvBuf.slice(0, n))) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_ERROR) {
          const err = parseError(m);
          if (err.errno !== 0) throw new NetlinkError(what, err.errno, err.text);
          if (!dump) return data;
          continue;
        }
        if (m.type === NLMSG_DONE) {
          // A dump that failed midway ends with DONE carrying -errno.
          if (m.payload.length >= 4) {
            const e = -new DataView(m.payload.buffer, m.payload.byteOffset, 4).getInt32(0, true);
            if (e > 0) throw new NetlinkError(what, e);
          }
          return data;
        }
        if (m.type === NLMSG_NOOP) continue;
        data.push(m);
      }
    }
  }

  close(): void {
    if (this.fd >= 0) C.close(this.fd);
    this.fd = -1;
  }
}

let shared: RouteSocket | undefined;

/** The agent's one rtnetlink socket, opened on first use and kept (a guest has one network namespace). */
export function routeSocket(): RouteSocket {
  return (shared ??= RouteSocket.open());
}
