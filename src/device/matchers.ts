// What each kind of device looks like in a uevent (Kata's *Matcher types), plus a sysfs check for
// a device that was there before the listener started.
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import type { Uevent, UeventMatcher } from "./uevent.ts";

/** Reads a sysfs device directory's `uevent` file as an "add" event (DEVPATH is relative to /sys). */
export function ueventFromSysfs(sysRoot: string, devpath: string): Uevent | null {
  let text: string;
  try {
    text = readFileSync(join(sysRoot, devpath, "uevent"), "utf8");
  } catch {
    return null;
  }
  const ev: Uevent = { action: "add", devpath, devname: "", subsystem: "", seqnum: "", interface: "" };
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const v = line.slice(eq + 1);
    if (line.startsWith("DEVNAME=")) ev.devname = v;
    else if (line.startsWith("INTERFACE=")) ev.interface = v;
  }
  try {
    // subsystem is a symlink to …/class/<name> or …/bus/<name>
    ev.subsystem = readlinkSync(join(sysRoot, devpath, "subsystem")).split("/").pop() ?? "";
  } catch {}
  return ev;
}

/** The DEVPATH (below /sys) a sysfs symlink such as class/block/<name> points to, or null. */
function devpathOfLink(sysRoot: string, link: string): string | null {
  try {
    const root = realpathSync(sysRoot);
    const target = realpathSync(join(sysRoot, link));
    return target.startsWith(root + "/") ? target.slice(root.length) : null;
  } catch {
    return null;
  }
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A block device that exists in sysfs and whose /dev node is there too. */
function presentBlock(sysRoot: string, devRoot: string, devpath: string): Uevent | null {
  const ev = ueventFromSysfs(sysRoot, devpath);
  if (!ev || !ev.devname || !existsSync(join(devRoot, ev.devname))) return null;
  return { ...ev, subsystem: "block" };
}

/** virtio-blk on PCI: <root bus><rel>/virtioN/block/<name> (VirtioBlkPciMatcher). */
export function virtioBlkPci(sysRoot: string, devRoot: string, rootBus: string, rel: string, what: string): UeventMatcher {
  const prefix = `${rootBus}${rel}/`;
  const re = /^virtio[0-9]+\/block\/[^/]+$/;
  return {
    what,
    matches: (ev) => ev.subsystem === "block" && ev.devname !== "" && ev.devpath.startsWith(prefix) && re.test(ev.devpath.slice(prefix.length)),
    present: () => {
      for (const v of listDirs(join(sysRoot, rootBus + rel)).filter((n) => /^virtio[0-9]+$/.test(n))) {
        for (const b of listDirs(join(sysRoot, rootBus + rel, v, "block"))) {
          const ev = presentBlock(sysRoot, devRoot, `${rootBus}${rel}/${v}/block/${b}`);
          if (ev) return ev;
        }
      }
      return null;
    },
  };
}

/** A block device by its kernel name (virtio-mmio's VirtioBlkMmioMatcher matches ".../block/<name>";
 *  DEVNAME is unique among block devices, so partitions such as loop0p1 match too). */
export function blockByName(sysRoot: string, devRoot: string, devname: string, what: string): UeventMatcher {
  return {
    what,
    matches: (ev) => ev.subsystem === "block" && ev.devname === devname && ev.devpath.endsWith(`/${devname}`),
    present: () => {
      // /sys/class/block/<name> links to the device directory
      const devpath = devpathOfLink(sysRoot, join("class/block", devname));
      return devpath?.endsWith(`/${devname}`) ? presentBlock(sysRoot, devRoot, devpath) : null;
    },
  };
}

/** pmem: under the ACPI tree, /devices/LNXSYSTM…/block/<name> (PmemBlockMatcher). */
export function pmemByName(sysRoot: string, devRoot: string, devname: string, what: string): UeventMatcher {
  const byName = blockByName(sysRoot, devRoot, devname, what);
  return {
    what,
    matches: (ev) => byName.matches(ev) && ev.devpath.startsWith("/devices/LNXSYSTM"),
    present: () => {
      const ev = byName.present!();
      return ev && ev.devpath.startsWith("/devices/LNXSYSTM") ? ev : null;
    },
  };
}

/** A SCSI disk by "<target>:<lun>" on channel 0 of any host: …/0:0:<t>:<l>/block/<name> (ScsiBlockMatcher). */
export function scsiBlock(sysRoot: string, devRoot: string, addr: string, what: string): UeventMatcher {
  const suffix = `/0:0:${addr}`;
  const matches = (ev: Uevent): boolean => {
    if (ev.subsystem !== "block" || ev.devname === "") return false;
    const i = ev.devpath.indexOf("/block/");
    if (i < 0) return false;
    const name = ev.devpath.slice(i + 7);
    return ev.devpath.slice(0, i).endsWith(suffix) && !name.includes("/") && name === ev.devname;
  };
  return {
    what,
    matches,
    present: () => {
      // /sys/class/scsi_disk/H:0:T:L/device/block/<name>
      for (const d of listDirs(join(sysRoot, "class/scsi_disk")).filter((n) => n.endsWith(suffix.slice(1)) && /^\d+:0:/.test(n))) {
        for (const b of listDirs(join(sysRoot, "class/scsi_disk", d, "device/block"))) {
          const devpath = devpathOfLink(sysRoot, join("class/scsi_disk", d, "device/block", b));
          const ev = devpath ? presentBlock(sysRoot, devRoot, devpath) : null;
          if (ev && matches(ev)) return ev;
        }
      }
      return null;
    },
  };
}

/** A network interface below a PCI device (NetPciMatcher). */
export function netPci(sysRoot: string, devpath: string, what: string): UeventMatcher {
  return {
    what,
    matches: (ev) => ev.subsystem === "net" && ev.interface !== "" && ev.devpath.startsWith(devpath),
    present: () => {
      for (const v of listDirs(join(sysRoot, devpath))) {
        for (const n of listDirs(join(sysRoot, devpath, v, "net"))) {
          return { action: "add", devpath: `${devpath}/${v}/net/${n}`, devname: "", subsystem: "net", seqnum: "", interface: n };
        }
      }
      return null;
    },
  };
}

/** A PCI device by its exact sysfs path (PciMatcher), and the VFIO group device (VfioMatcher). */
export function exactDevpath(sysRoot: string, devpath: string, what: string): UeventMatcher {
  return {
    what,
    matches: (ev) => ev.devpath === devpath,
    present: () => {
      if (!existsSync(join(sysRoot, devpath))) return null;
      return ueventFromSysfs(sysRoot, devpath) ?? { action: "add", devpath, devname: "", subsystem: "", seqnum: "", interface: "" };
    },
  };
}
