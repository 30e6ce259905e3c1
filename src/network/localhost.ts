// Kata's handle_localhost: as the guest's init nobody else brings `lo` up, and containers sharing
// the pod's network namespace expect 127.0.0.1 to work. Kata uses rtnetlink; the interface-flags
// ioctls do the same in three calls, without loading the network code at start-up (src/sys/ifflags.ts).
import { notFound } from "../errors.ts";
import { SysError } from "../sys/errno.ts";
import { IFF_UP, setInterfaceFlags } from "../sys/ifflags.ts";

const ENODEV = 19;

export function bringUpLoopback(): void {
  try {
    setInterfaceFlags("lo", IFF_UP);
  } catch (e) {
    if (e instanceof SysError && e.errno === ENODEV) throw notFound("Link not found (lo)");
    throw e;
  }
}
