// One guest device per CreateContainer device entry (Kata's DEVICE_HANDLERS): which lookup each
// type uses, and VFIO's sysfs steps (driver override, IOMMU group).
import { readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentError, invalid } from "../errors.ts";
import { deviceNumbers, type DeviceFinder } from "./devices.ts";
import { formatPciAddress, parsePciAddress, type PciAddress } from "./pci.ts";
import { unsupportedDevice, type DeviceResolver, type DeviceSpec, type DeviceUpdate } from "./spec-devices.ts";

export class GuestDeviceResolver implements DeviceResolver {
  constructor(
    private readonly finder: DeviceFinder,
    private readonly timeoutMs: number,
  ) {}

  async resolve(d: DeviceSpec, field: string): Promise<DeviceUpdate> {
    const t = this.timeoutMs;
    const f = this.finder;
    const one = (guest: Awaited<ReturnType<typeof deviceNumbers>>): DeviceUpdate => ({ containerPath: d.containerPath, guest, pci: [] });
    switch (d.type) {
      case "blk":
        return one(await f.virtioBlkPci(d.id, t, `${field}.id`));
      case "mmioblk":
        if (!d.vmPath) throw invalid(`${field}: vm_path is empty (a virtio-mmio block device is named by its /dev path)`);
        return one(await f.blockByPath(d.vmPath, t, "mmio", `${field}.vm_path`));
      case "scsi":
        return one(await f.scsi(d.id, t, `${field}.id`));
      case "nvdimm":
        if (!d.vmPath) throw invalid(`${field}: vm_path is empty (an nvdimm is named by its /dev/pmemN path)`);
        return one(await f.blockByPath(d.vmPath, t, "pmem", `${field}.vm_path`));
      case "vfio-pci":
      case "vfio-pci-gk":
        return this.vfio(d, field);
      case "vfio-ap":
      case "vfio-ap-cold":
      case "blk-ccw":
        throw unsupportedDevice(d, field, "exists only on s390x");
      default:
        throw unsupportedDevice(d, field, "is not supported (known: blk, mmioblk, scsi, nvdimm, vfio-pci, vfio-pci-gk)");
    }
  }

  /** options are "<host BDF>=<guest PCI path>"; vfio-pci binds each guest device to vfio-pci (all
   *  in one IOMMU group) and exposes /dev/vfio/<group>; vfio-pci-gk leaves the guest driver and
   *  only maps addresses for the environment. */
  private async vfio(d: DeviceSpec, field: string): Promise<DeviceUpdate> {
    const inGuest = d.type === "vfio-pci";
    const sysPci = join(this.finder.roots.sysRoot, "bus/pci");
    const pci: [PciAddress, PciAddress][] = [];
    let group: number | undefined;
    for (const [i, opt] of d.options.entries()) {
      const parts = opt.split("=");
      if (parts.length !== 2) throw invalid(`${field}.options[${i}]: "${opt}" should be <host PCI address>=<guest PCI path>`);
      const host = parsePciAddress(parts[0]!);
      if (!host) throw invalid(`${field}.options[${i}]: host PCI address "${parts[0]}" should be DDDD:BB:SS.F`);
      if (parts[1] === "") continue; // no guest path: nothing to set up in the guest (Kata skips it too)
      const guest = await this.finder.pciDevice(parts[1]!, this.timeoutMs, `${field}.options[${i}]`);
      if (inGuest) {
        const bdf = formatPciAddress(guest);
        driverOverride(sysPci, bdf, "vfio-pci");
        const g = iommuGroup(sysPci, bdf);
        if (g === undefined) throw new AgentError("precondition", `${field}: guest PCI device ${bdf} has no IOMMU group`);
        if (group !== undefined && g !== group) throw invalid(`${field}: guest PCI device ${bdf} is in IOMMU group ${g}, not ${group}`);
        group = g;
      }
      pci.push([host, guest]);
    }
    if (!inGuest) return { containerPath: d.containerPath, pci };
    if (group === undefined) throw invalid(`${field}: no guest PCI device in options, so no VFIO group`);
    const guest = await this.finder.vfioGroup(group, this.timeoutMs);
    return { containerPath: d.containerPath, guest, finalPath: guest.devPath, pci };
  }
}

/** pci_driver_override: make `drv` the device's driver (unbind the current one, re-probe). */
export function driverOverride(sysPci: string, bdf: string, drv: string): void {
  const dev = join(sysPci, "devices", bdf);
  writeFileSync(join(dev, "driver_override"), drv);
  let current: string | undefined;
  try {
    current = readlinkSync(join(dev, "driver")).split("/").pop();
  } catch {}
  if (current === drv) return;
  if (current) writeFileSync(join(dev, "driver", "unbind"), bdf);
  writeFileSync(join(sysPci, "drivers_probe"), bdf);
}

export function iommuGroup(sysPci: string, bdf: string): number | undefined {
  try {
    const n = Number(readlinkSync(join(sysPci, "devices", bdf, "iommu_group")).split("/").pop());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
