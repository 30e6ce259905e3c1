// poll(2) of one descriptor without waiting: which of the asked-for events are ready right now.
import { C, ptr, retry } from "./libc.ts";

export const POLLPRI = 0x002;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;

// struct pollfd { int fd; short events; short revents; }; the agent has one thread.
const pfd = new DataView(new ArrayBuffer(8));

/** `fd`'s revents for `events` now (0 when none); POLLERR and POLLHUP come without asking. */
export function pollNow(fd: number, events: number): number {
  pfd.setInt32(0, fd, true);
  pfd.setInt16(4, events, true);
  pfd.setInt16(6, 0, true);
  const n = retry("poll", () => C.poll(ptr(pfd.buffer), 1, 0));
  return n > 0 ? pfd.getUint16(6, true) : 0;
}
