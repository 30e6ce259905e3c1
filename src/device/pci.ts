// PCI addresses and Kata's PCI paths (pci.rs, linux_abi.rs, device/mod.rs pcipath_to_sysfs).
//
// A PCI path names a device by the slot (and function) it occupies on each bus from the root
// complex down: "02/00" is slot 0 on the bus behind the bridge in slot 2 of the root bus. Each
// element is "SS" or "SS.F" in hex (slot ≤ 0x1f, function ≤ 7). A first element ≥ 0x20 followed by
// at least two more names a pxb-pcie root complex (its bus number): "20/01/00" → pci0000:20.
// pathToSysfs walks the bridges through sysfs (each bridge's `pci_bus/<domain:bus>` entry) to get
// the device's directory, e.g. "/0000:00:02.0/0000:01:00.0".
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { invalid } from "../errors.ts";

export interface SlotFn {
  slot: number;
  fn: number;
}

export interface PciPath {
  /** Root complex bus, two hex digits: "00", or a pxb-pcie root such as "20". */
  rootComplex: string;
  slots: SlotFn[];
}

const PXB_ROOT_MIN = 0x20;
const HEX = /^[0-9a-fA-F]{1,2}$/;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** "SS" or "SS.F". Throws INVALID_ARGUMENT naming `what`. */
export function parseSlotFn(s: string, what: string): SlotFn {
  const [slotS, fnS, extra] = s.split(".");
  if (extra !== undefined || !HEX.test(slotS ?? "") || (fnS !== undefined && !/^[0-7]$/.test(fnS))) {
    throw invalid(`${what}: PCI slot/function "${s}" should have the format SS or SS.F (hex, slot ≤ 1f, function ≤ 7)`);
  }
  const slot = parseInt(slotS!, 16);
  if (slot > 0x1f) throw invalid(`${what}: PCI slot ${slotS} should be in range [0..0x1f]`);
  return { slot, fn: fnS === undefined ? 0 : parseInt(fnS, 16) };
}

export function formatSlotFn(s: SlotFn): string {
  return `${hex(s.slot, 2)}.${s.fn}`;
}

/** Kata's pcipath_from_dev_tree_path. `what` names the request field in errors. */
export function parsePciPath(text: string, what = "PCI path"): PciPath {
  if (text === "") throw invalid(`${what}: the PCI path is empty`);
  const segs = text.split("/");
  let rootComplex = "00";
  let rest = segs;
  if (segs.length >= 3 && HEX.test(segs[0]!) && parseInt(segs[0]!, 16) >= PXB_ROOT_MIN) {
    rootComplex = hex(parseInt(segs[0]!, 16), 2);
    rest = segs.slice(1);
  }
  return { rootComplex, slots: rest.map((s) => parseSlotFn(s, `${what} "${text}"`)) };
}

export function formatPciPath(p: PciPath): string {
  const slots = p.slots.map((s) => hex(s.slot, 2) + (s.fn ? `.${s.fn}` : "")).join("/");
  return p.rootComplex === "00" ? slots : `${p.rootComplex}/${slots}`;
}

/** A PCI address DDDD:BB:SS.F, normalised to lower-case hex. */
export interface PciAddress {
  domain: number;
  bus: number;
  slot: SlotFn;
}

export function parsePciAddress(s: string): PciAddress | null {
  const m = /^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/.exec(s);
  if (!m) return null;
  const slot = parseInt(m[3]!, 16);
  if (slot > 0x1f) return null;
  return { domain: parseInt(m[1]!, 16), bus: parseInt(m[2]!, 16), slot: { slot, fn: parseInt(m[4]!, 10) } };
}

export function formatPciAddress(a: PciAddress): string {
  return `${hex(a.domain, 4)}:${hex(a.bus, 2)}:${formatSlotFn(a.slot)}`;
}

/** /devices/pci0000:<rc> (x86: the ACPI root bus). */
export function rootBusPath(rootComplex: string): string {
  return `/devices/pci0000:${rootComplex}`;
}

/** The bus behind a bridge: its `pci_bus/` entry, else the bus of the devices below it. */
function busBehindBridge(bridgeDir: string): string {
  const busDir = join(bridgeDir, "pci_bus");
  if (existsSync(busDir)) {
    const names = readdirSync(busDir);
    if (names.length !== 1) throw new Error(`expected one PCI bus in ${busDir}, found ${names.length}`);
    return names[0]!;
  }
  const buses = new Set<string>();
  for (const name of readdirSync(bridgeDir)) {
    const a = parsePciAddress(name);
    if (a && statSync(join(bridgeDir, name)).isDirectory()) buses.add(`${hex(a.domain, 4)}:${hex(a.bus, 2)}`);
  }
  if (buses.size !== 1) throw new Error(`cannot tell the bus behind the bridge ${bridgeDir} (no pci_bus directory, ${buses.size} buses below it)`);
  return [...buses][0]!;
}

/**
 * Kata's pcipath_to_sysfs: the device's path relative to the root bus directory
 * (sysRoot + rootBusPath), e.g. "/0000:00:02.0/0000:01:00.0". The bridges must already exist; the
 * last element need not (it may be the device still being hot-plugged). Throws when a bridge on
 * the way is missing (FAILED_PRECONDITION-worthy: the caller names the device).
 */
export function pathToSysfs(sysRoot: string, p: PciPath): string {
  const rootDir = join(sysRoot, rootBusPath(p.rootComplex));
  let bus = `0000:${p.rootComplex}`;
  let rel = "";
  p.slots.forEach((s, i) => {
    rel += `/${bus}:${formatSlotFn(s)}`;
    if (i < p.slots.length - 1) bus = busBehindBridge(join(rootDir, rel));
  });
  return rel;
}
