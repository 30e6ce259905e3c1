// Finding guest devices (Kata's device/*_handler.rs lookups): a PCI path, SCSI address, pmem or
// MMIO name becomes a /dev node with its numbers, waiting for the hot-plug uevent up to
// agent.hotplug_timeout. sysfs and /dev roots are injectable so tests can use fake trees.
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentError, invalid, precondition } from "../errors.ts";
import type { DeviceWaiter, GuestDevice } from "../storage/driver.ts";
import { blockByName, exactDevpath, netPci, pmemByName, scsiBlock, virtioBlkPci } from "./matchers.ts";
import { formatPciAddress, parsePciAddress, parsePciPath, pathToSysfs, rootBusPath, type PciAddress, type PciPath } from "./pci.ts";
import type { UeventHub, UeventMatcher } from "./uevent.ts";

export interface DeviceRoots {
  /** "/sys" */
  sysRoot: string;
  /** "/dev" */
  devRoot: string;
}

/** A device node's numbers and kind (b or c), from stat. */
export interface DeviceNumbers extends GuestDevice {
  type: "b" | "c";
}

/** major/minor of a dev_t (glibc's gnu_dev_major/minor). */
export function splitDevT(rdev: number): { major: number; minor: number } {
  const r = BigInt(rdev);
  const major = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
  const minor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
  return { major, minor };
}

/** stat of a device node; INVALID_ARGUMENT naming `what` when it is missing or not a device. */
export function deviceNumbers(path: string, what: string): DeviceNumbers {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw precondition(`${what}: device ${path} does not exist in the guest (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const type = st.isBlockDevice() ? "b" : st.isCharacterDevice() ? "c" : undefined;
  if (!type) throw invalid(`${what}: ${path} is not a device node`);
  return { devPath: path, type, ...splitDevT(st.rdev) };
}

export class DeviceFinder implements DeviceWaiter {
  constructor(
    private readonly hub: UeventHub,
    readonly roots: DeviceRoots = { sysRoot: "/sys", devRoot: "/dev" },
  ) {}

  private async waitFor(m: UeventMatcher, timeoutMs: number): Promise<string> {
    const ev = await this.hub.wait(m, timeoutMs);
    return join(this.roots.devRoot, ev.devname);
  }

  /** The device directory (relative to /sys) of a PCI path; the bridges on the way must exist. */
  pciDevpath(p: PciPath, what: string): string {
    try {
      return rootBusPath(p.rootComplex) + pathToSysfs(this.roots.sysRoot, p);
    } catch (e) {
      throw precondition(`${what}: a PCI bridge on the path is not in the guest: ${(e as Error).message}`);
    }
  }

  /** virtio-blk at a PCI path → /dev/vdX (get_virtio_blk_pci_device_name). */
  async virtioBlkPci(pciPath: string, timeoutMs: number, field = "PCI path"): Promise<DeviceNumbers> {
    const p = parsePciPath(pciPath, field);
    const what = `virtio-blk device at PCI path ${pciPath}`;
    const rel = this.pciDevpath(p, what).slice(rootBusPath(p.rootComplex).length);
    const { sysRoot, devRoot } = this.roots;
    return deviceNumbers(await this.waitFor(virtioBlkPci(sysRoot, devRoot, rootBusPath(p.rootComplex), rel, what), timeoutMs), what);
  }

  /** A block device by /dev path (mmioblk, pmem): waits for it when the node is not there yet. */
  async blockByPath(devPath: string, timeoutMs: number, kind: "mmio" | "pmem", field: string): Promise<DeviceNumbers> {
    if (!devPath.startsWith("/dev/") || devPath.length <= 5) throw invalid(`${field} "${devPath}" must be a /dev/… path`);
    const name = devPath.slice(5);
    const what = `${kind === "pmem" ? "pmem" : "virtio-mmio block"} device ${devPath}`;
    const { sysRoot, devRoot } = this.roots;
    const m = kind === "pmem" ? pmemByName(sysRoot, devRoot, name, what) : blockByName(sysRoot, devRoot, name, what);
    return deviceNumbers(await this.waitFor(m, timeoutMs), what);
  }

  /** A SCSI disk by "<target>:<lun>": rescan every host for it, then wait (get_scsi_device_name). */
  async scsi(addr: string, timeoutMs: number, field = "SCSI address"): Promise<DeviceNumbers> {
    const m = /^(\d+):(\d+)$/.exec(addr);
    if (!m) throw invalid(`${field} "${addr}" should have the format SCSIID:LUN`);
    const what = `SCSI disk ${addr}`;
    const hosts = join(this.roots.sysRoot, "class/scsi_host");
    let names: string[] = [];
    try {
      names = readdirSync(hosts);
    } catch {}
    for (const h of names) {
      try {
        writeFileSync(join(hosts, h, "scan"), `0 ${m[1]} ${m[2]}`);
      } catch (e) {
        throw new AgentError("internal", `${what}: rescan of ${h} failed: ${(e as Error).message}`);
      }
    }
    const { sysRoot, devRoot } = this.roots;
    return deviceNumbers(await this.waitFor(scsiBlock(sysRoot, devRoot, addr, what), timeoutMs), what);
  }

  /** DeviceWaiter for storage drivers. */
  async blockDevice(kind: "pci" | "scsi" | "pmem" | "mmio", source: string, timeoutMs: number): Promise<GuestDevice> {
    switch (kind) {
      case "pci": return this.virtioBlkPci(source, timeoutMs, "storage source");
      case "scsi": return this.scsi(source, timeoutMs, "storage source");
      default: return this.blockByPath(source, timeoutMs, kind, "storage source");
    }
  }

  /** A PCI device's guest address (wait_for_pci_device, for VFIO). */
  async pciDevice(pciPath: string, timeoutMs: number, field: string): Promise<PciAddress> {
    const p = parsePciPath(pciPath, field);
    const what = `PCI device at PCI path ${pciPath}`;
    const devpath = this.pciDevpath(p, what);
    await this.hub.wait(exactDevpath(this.roots.sysRoot, devpath, what), timeoutMs);
    const addr = parsePciAddress(devpath.slice(devpath.lastIndexOf("/") + 1));
    if (!addr) throw new AgentError("internal", `${what}: bad sysfs name ${devpath}`);
    return addr;
  }

  /** A network interface behind a PCI path (wait_for_pci_net_interface): its name. */
  async pciNetInterface(pciPath: string, timeoutMs: number, field = "devicePath"): Promise<string> {
    const p = parsePciPath(pciPath, field);
    const what = `network interface at PCI path ${pciPath}`;
    const ev = await this.hub.wait(netPci(this.roots.sysRoot, this.pciDevpath(p, what), what), timeoutMs);
    return ev.interface;
  }

  /** The VFIO group device /dev/vfio/<group> once it exists. */
  async vfioGroup(group: number, timeoutMs: number): Promise<DeviceNumbers> {
    const what = `VFIO group device /dev/vfio/${group}`;
    await this.hub.wait(exactDevpath(this.roots.sysRoot, `/devices/virtual/vfio/${group}`, what), timeoutMs);
    return deviceNumbers(join(this.roots.devRoot, "vfio", String(group)), what);
  }
}

export { formatPciAddress };
