// Waiting for a hot-plugged NIC named by its guest PCI path (Interface.devicePath, "02/00": slot 02
// on the root bus, then slot 00 behind that bridge; "SS" or "SS.F", hex). The path is resolved in
// sysfs bridge by bridge (each bridge's pci_bus/ names the next bus), then we poll until the device
// has a net/ directory (directly, or under its virtio<N>/ child) or the hotplug timeout passes.
// Kata waits for the uevent instead; the devices work will move this wait onto uevents, which is
// why it is one small function with the sysfs root as a parameter.
import { existsSync, readdirSync } from "node:fs";
import { invalid, AgentError } from "../errors.ts";

export interface PciSlot {
  slot: number;
  fn: number;
}

/** Parses a Kata PCI path; with 3+ elements and a first element ≥ 0x20 that element is a pxb-pcie root bus. */
export function parsePciPath(path: string, field: string): { rootBus: string; slots: PciSlot[] } {
  const parts = path.split("/");
  let rootBus = "00";
  if (parts.length >= 3 && /^[0-9a-fA-F]{2}$/.test(parts[0]!) && parseInt(parts[0]!, 16) >= 0x20) {
    rootBus = parts.shift()!.toLowerCase();
  }
  const slots = parts.map((p) => {
    const m = /^([0-9a-fA-F]{1,2})(?:\.([0-7]))?$/.exec(p);
    const slot = m ? parseInt(m[1]!, 16) : NaN;
    if (!m || slot > 0x1f) throw invalid(`${field} "${path}": "${p}" is not a PCI slot (SS or SS.F, slot 00..1f, function 0..7)`);
    return { slot, fn: m[2] ? Number(m[2]) : 0 };
  });
  return { rootBus, slots };
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** The device's sysfs directory, or null while a bridge on the way is not there yet. */
export function pciSysfsDir(sysRoot: string, rootBus: string, slots: PciSlot[]): string | null {
  let dir = `${sysRoot}/devices/pci0000:${rootBus}`;
  let bus = `0000:${rootBus}`;
  for (let i = 0; i < slots.length; i++) {
    dir += `/${bus}:${hex2(slots[i]!.slot)}.${slots[i]!.fn}`;
    if (i === slots.length - 1) break;
    let next: string[];
    try {
      next = readdirSync(`${dir}/pci_bus`);
    } catch {
      return null;
    }
    if (next.length === 0) return null;
    bus = next[0]!;
  }
  return dir;
}

/** The name of the net device under a PCI device directory, if it has one yet. */
export function netDeviceUnder(dir: string): string | null {
  const names = (d: string) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  };
  const direct = names(`${dir}/net`);
  if (direct.length > 0) return direct[0]!;
  for (const child of names(dir).filter((n) => /^virtio\d+$/.test(n))) {
    const nested = names(`${dir}/${child}/net`);
    if (nested.length > 0) return nested[0]!;
  }
  return null;
}

/** Resolves when the NIC at devicePath has a net device; DEADLINE_EXCEEDED after timeoutMs. */
export async function waitForPciNetDevice(devicePath: string, timeoutMs: number, sysRoot = "/sys"): Promise<string> {
  const { rootBus, slots } = parsePciPath(devicePath, "interface.devicePath");
  const give = Date.now() + timeoutMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
    const dir = pciSysfsDir(sysRoot, rootBus, slots);
    const name = dir && existsSync(dir) ? netDeviceUnder(dir) : null;
    if (name) return name;
    if (Date.now() >= give) {
      throw new AgentError("deadline", `interface.devicePath "${devicePath}": no network device appeared at ${dir ?? `${sysRoot}/devices/pci0000:${rootBus}/…`} within ${timeoutMs} ms (agent.hotplug_timeout)`);
    }
    await Bun.sleep(pause);
  }
}
