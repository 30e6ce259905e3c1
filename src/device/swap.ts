// AddSwap / AddSwapPath (Kata's do_add_swap, do_add_swap_path): a virtio-blk disk at a PCI path
// on root complex 00, or a file, becomes swap space.
import { invalid } from "../errors.ts";
import { SysError } from "../sys/errno.ts";
import { swapon } from "../sys/swap.ts";
import { DeviceFinder } from "./devices.ts";
import { deviceHub } from "./uevent-listener.ts";

function enable(path: string, what: string): void {
  try {
    swapon(path);
  } catch (e) {
    if (e instanceof SysError && e.code === "EINVAL") throw invalid(`${what}: swapon ${path} failed: no swap signature (EINVAL)`);
    throw e;
  }
}

/** AddSwapRequest.PCIPath is a list of slot numbers (function 0 each). */
export async function addSwap(slots: number[], timeoutMs: number, finder = new DeviceFinder(deviceHub())): Promise<string> {
  if (slots.length === 0) throw invalid("AddSwapRequest.PCIPath is empty");
  for (const s of slots) {
    if (!Number.isInteger(s) || s < 0 || s > 0x1f) throw invalid(`AddSwapRequest.PCIPath: slot ${s} should be in range [0..0x1f]`);
  }
  const path = slots.map((s) => s.toString(16).padStart(2, "0")).join("/");
  const dev = await finder.virtioBlkPci(path, timeoutMs, "AddSwapRequest.PCIPath");
  enable(dev.devPath, `AddSwap (PCI path ${path})`);
  return dev.devPath;
}

export function addSwapPath(path: string): void {
  if (!path.startsWith("/")) throw invalid(`AddSwapPathRequest.path ${JSON.stringify(path)} is not an absolute path`);
  enable(path, "AddSwapPath");
}
