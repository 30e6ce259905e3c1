// Kata's handle_localhost: as the guest's init nobody else brings `lo` up, and containers sharing
// the pod's network namespace expect 127.0.0.1 to work. Its own small module: PID 1 loads it at
// start-up without the rest of the network code.
import { notFound } from "../errors.ts";
import { IFF_UP } from "./rtnl-encode.ts";
import { changeLink, linkByName } from "./rtnl.ts";

export function bringUpLoopback(): void {
  const lo = linkByName("lo");
  if (!lo) throw notFound("Link not found (lo)");
  if (!(lo.flags & IFF_UP)) changeLink({ index: lo.index, flags: IFF_UP, change: IFF_UP }, "lo up");
}
