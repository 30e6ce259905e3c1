// AddSwap (Kata's do_add_swap): the virtio-blk disk at a PCI path on root complex 00 becomes swap,
// through the same swapon runner as AddSwapPath (src/guest/swap.ts).
import { invalid } from "../errors.ts";
import { addSwapPath } from "../guest/swap.ts";
import { DeviceFinder } from "./devices.ts";
import { deviceHub } from "./uevent-listener.ts";

/** AddSwapRequest.PCIPath is a list of slot numbers (function 0 each). Returns the device. */
export async function addSwap(slots: number[], timeoutMs: number, finder = new DeviceFinder(deviceHub())): Promise<string> {
  if (slots.length === 0) throw invalid("AddSwapRequest.PCIPath is empty");
  for (const s of slots) {
    if (!Number.isInteger(s) || s < 0 || s > 0x1f) throw invalid(`AddSwapRequest.PCIPath: slot ${s} should be in range [0..0x1f]`);
  }
  const path = slots.map((s) => s.toString(16).padStart(2, "0")).join("/");
  const dev = await finder.virtioBlkPci(path, timeoutMs, "AddSwapRequest.PCIPath");
  try {
    await addSwapPath(dev.devPath);
  } catch (e) {
    const err = e as Error & { kind?: string };
    err.message = `AddSwap (PCI path ${path}, ${dev.devPath}): ${err.message}`;
    throw err;
  }
  return dev.devPath;
}
