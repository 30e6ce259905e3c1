// Pipes for container stdio, hook stdin and the launcher's start/status handshake.
// Both ends are O_CLOEXEC (the launcher makes the child's ends inheritable itself). Never set
// O_NONBLOCK on the child's end: a workload's writes would fail with EAGAIN; only the agent's end.
import { C, check, errno, ptr, retry } from "./libc.ts";
import { SysError } from "./errno.ts";
import { F_GETFL, F_GETPIPE_SZ, F_SETFL, F_SETPIPE_SZ, O_CLOEXEC, O_NONBLOCK } from "./consts.ts";

const EINTR = 4;

// Scratch for pipe2's int[2]: out-of-line ArrayBuffer storage, so the pointer cannot move.
const fds = new Int32Array(new ArrayBuffer(8));

/** A new pipe, both ends close-on-exec: [readEnd, writeEnd]. */
export function pipe(): [number, number] {
  check("pipe2", C.pipe2(ptr(fds), O_CLOEXEC));
  return [fds[0]!, fds[1]!];
}

/** Sets O_NONBLOCK (for the agent's end: Bun.file(fd).stream() and writers need it). */
export function setNonBlocking(fd: number): void {
  const flags = check(`fcntl(${fd}, F_GETFL)`, C.fcntl(fd, F_GETFL, 0));
  if (flags & O_NONBLOCK) return;
  check(`fcntl(${fd}, F_SETFL)`, C.fcntl(fd, F_SETFL, flags | O_NONBLOCK));
}

/** F_SETPIPE_SZ: returns the size the kernel actually set (rounded up to a power-of-two pages).
 *  Above /proc/sys/fs/pipe-max-size it needs CAP_SYS_RESOURCE (EPERM otherwise). */
export function setPipeSize(fd: number, bytes: number): number {
  return check(`fcntl(${fd}, F_SETPIPE_SZ, ${bytes})`, C.fcntl(fd, F_SETPIPE_SZ, bytes));
}

export function getPipeSize(fd: number): number {
  return check(`fcntl(${fd}, F_GETPIPE_SZ)`, C.fcntl(fd, F_GETPIPE_SZ, 0));
}

/** close(2). EINTR is not retried: on Linux the descriptor is gone anyway, and a retry could
 *  close a descriptor that another part of the agent has been handed meanwhile. */
export function closeFd(fd: number): void {
  if (C.close(fd) < 0) {
    const e = errno();
    if (e !== EINTR) throw new SysError(`close(${fd})`, e);
  }
}

/** A blocking write of all bytes (for tiny control messages only: it would stall the event loop
 *  on a full pipe). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    off += retry(`write(${fd})`, () => C.write(fd, ptr(bytes, off), bytes.length - off));
  }
}

const EAGAIN = 11;

/** One read(2) from a non-blocking fd into `buf` (backed by its own ArrayBuffer): the bytes read,
 *  0 at end of file, or -1 when nothing is waiting (EAGAIN). EINTR is retried; other errors throw. */
export function readSome(fd: number, buf: Uint8Array): number {
  for (;;) {
    const n = C.read(fd, ptr(buf), buf.length);
    if (n >= 0) return n;
    const e = errno();
    if (e === EAGAIN) return -1;
    if (e !== EINTR) throw new SysError(`read(${fd})`, e);
  }
}
