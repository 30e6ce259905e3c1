// Small descriptor helpers shared by the stdio and socket code.
import { C, check } from "./libc.ts";

const F_DUPFD_CLOEXEC = 1030;

/** dup() with O_CLOEXEC, so the copy never leaks into a container. */
export function dupFd(fd: number): number {
  return check(`fcntl(${fd}, F_DUPFD_CLOEXEC)`, C.fcntl(fd, F_DUPFD_CLOEXEC, 3));
}

const FIONREAD = 0x541b;
const availBuf = new Int32Array(new ArrayBuffer(4));

/** Bytes waiting to be read in a pipe, socket or pty (FIONREAD). */
export function bytesAvailable(fd: number): number {
  check(`ioctl(${fd}, FIONREAD)`, C.ioctl(fd, FIONREAD, availBuf));
  return availBuf[0]!;
}
