// vsock sockets made by hand for Bun: Bun's socket API knows TCP and unix sockets but not AF_VSOCK,
// so we create, bind and listen (or connect) the fd here and hand it to `Bun.listen({ fd })` /
// `Bun.connect({ fd })`. Abstract unix sockets need nothing from here: `Bun.listen({ unix: "\0name" })`
// binds an abstract name (checked in /proc/net/unix on Bun 1.4.5).
import { ptr } from "bun:ffi";
import { C, check, errno } from "./libc.ts";
import { SysError } from "./errno.ts";

import { AF_VSOCK, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET } from "./consts.ts";
import { POLLERR, POLLHUP, POLLOUT, pollNow } from "./poll.ts";

const SO_ERROR = 4;
const EINPROGRESS = 115;

export { VMADDR_CID_ANY } from "./consts.ts";
import { VMADDR_CID_ANY } from "./consts.ts";

/** struct sockaddr_vm: u16 family, u16 reserved, u32 port, u32 cid, u8 flags, u8 zero[3]. */
function sockaddrVm(cid: number, port: number): ArrayBuffer {
  const mem = new ArrayBuffer(16);
  const view = new DataView(mem);
  view.setUint16(0, AF_VSOCK, true);
  view.setUint32(4, port >>> 0, true);
  view.setUint32(8, cid >>> 0, true);
  return mem;
}

function vsockSocket(): number {
  return check("socket(AF_VSOCK)", C.socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

function describe(cid: number, port: number): string {
  return `vsock://${cid === VMADDR_CID_ANY ? -1 : cid}:${port}`;
}

/**
 * A listening, non-blocking, close-on-exec vsock socket for `Bun.listen({ fd })`. The caller owns
 * the fd (Bun closes it when the listener stops). Errors name the address and errno, e.g.
 * "bind vsock://-1:1024: EADDRINUSE".
 */
export function vsockListen(cid: number, port: number, backlog = 1024): number {
  const fd = vsockSocket();
  try {
    const addr = sockaddrVm(cid, port);
    check(`bind ${describe(cid, port)}`, C.bind(fd, ptr(addr), 16));
    check(`listen ${describe(cid, port)}`, C.listen(fd, backlog));
    return fd;
  } catch (e) {
    C.close(fd);
    throw e;
  }
}

/**
 * Connects a vsock stream socket without blocking the event loop: a non-blocking connect, then a
 * zero-timeout poll every few milliseconds until the socket is writable (or timeoutMs passes), then
 * SO_ERROR tells the outcome. Resolves with the connected fd for `Bun.connect({ fd })`.
 */
export async function vsockConnect(cid: number, port: number, timeoutMs = 5000): Promise<number> {
  const fd = vsockSocket();
  const where = `connect ${describe(cid, port)}`;
  try {
    const addr = sockaddrVm(cid, port);
    if (C.connect(fd, ptr(addr), 16) < 0) {
      const e = errno();
      if (e !== EINPROGRESS) throw new SysError(where, e);
      await waitWritable(fd, timeoutMs, where);
    }
    return fd;
  } catch (e) {
    C.close(fd);
    throw e;
  }
}

async function waitWritable(fd: number, timeoutMs: number, where: string): Promise<void> {
  const give = Date.now() + timeoutMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, 20)) {
    if (pollNow(fd, POLLOUT) & (POLLOUT | POLLERR | POLLHUP)) break;
    if (Date.now() >= give) throw new SysError(where, 110 /* ETIMEDOUT */);
    await Bun.sleep(pause);
  }
  const soError = new Int32Array(new ArrayBuffer(4));
  const len = new Uint32Array(new ArrayBuffer(4));
  len[0] = 4;
  check("getsockopt(SO_ERROR)", C.getsockopt(fd, SOL_SOCKET, SO_ERROR, ptr(soError), ptr(len)));
  if (soError[0] !== 0) throw new SysError(where, soError[0]!);
}

const SO_SNDBUF = 7;
const SO_SNDBUFFORCE = 32;
const optVal = new Int32Array(new ArrayBuffer(4));
const optLen = new Uint32Array(new ArrayBuffer(4));

/**
 * Raises a connected socket's send buffer to `bytes`: SO_SNDBUFFORCE (past net.core.wmem_max, needs
 * CAP_NET_ADMIN), else SO_SNDBUF (capped at wmem_max). Returns the size in effect afterwards, which
 * the kernel reports doubled (it counts its bookkeeping too).
 */
export function setSendBuffer(fd: number, bytes: number): number {
  optVal[0] = bytes;
  if (C.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, ptr(optVal), 4) < 0) {
    optVal[0] = bytes;
    check(`setsockopt(${fd}, SO_SNDBUF, ${bytes})`, C.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, ptr(optVal), 4));
  }
  optLen[0] = 4;
  check(`getsockopt(${fd}, SO_SNDBUF)`, C.getsockopt(fd, SOL_SOCKET, SO_SNDBUF, ptr(optVal), ptr(optLen)));
  return optVal[0]!;
}
