// A network interface's flags through the classic ioctls (SIOCGIFFLAGS / SIOCSIFFLAGS) on an
// AF_INET datagram socket. PID 1 brings `lo` up with these at start-up: the rtnetlink path (its
// modules and a link dump parsed in JS) was ~45 ms of a TCG guest's boot, these are three calls.
import { AF_INET, SOCK_CLOEXEC, SOCK_DGRAM } from "./consts.ts";
export { IFF_UP } from "./consts.ts";
import { SysError } from "./errno.ts";
import { C, check, errno, ptr } from "./libc.ts";

const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
/** struct ifreq: char ifr_name[IFNAMSIZ]; then a 24-byte union whose first member is short ifr_flags. */
const IFNAMSIZ = 16;
const IFREQ_BYTES = 40;

function ifreq(name: string): Uint8Array {
  const req = new Uint8Array(new ArrayBuffer(IFREQ_BYTES));
  const { written } = new TextEncoder().encodeInto(name, req.subarray(0, IFNAMSIZ - 1));
  if (written !== name.length || name.length === 0) throw new SysError(`interface name ${JSON.stringify(name)}`, 22 /* EINVAL */);
  return req;
}

/**
 * Sets `flags` (e.g. IFF_UP) on the interface if they are not all set already; returns whether
 * it changed anything. Throws SysError (ENODEV when there is no such interface).
 */
export function setInterfaceFlags(name: string, flags: number): boolean {
  const req = ifreq(name);
  const view = new DataView(req.buffer);
  const fd = check("socket(AF_INET, SOCK_DGRAM)", C.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  try {
    if (C.ioctl(fd, SIOCGIFFLAGS, ptr(req)) < 0) throw new SysError(`ioctl(SIOCGIFFLAGS, ${name})`, errno());
    const now = view.getUint16(IFNAMSIZ, true);
    if ((now & flags) === flags) return false;
    view.setUint16(IFNAMSIZ, now | flags, true);
    if (C.ioctl(fd, SIOCSIFFLAGS, ptr(req)) < 0) throw new SysError(`ioctl(SIOCSIFFLAGS, ${name})`, errno());
    return true;
  } finally {
    C.close(fd);
  }
}
