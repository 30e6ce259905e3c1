// The v1 devices cgroup whitelist, following Kata's agent: a new container cgroup first denies
// everything ("a"), then allows Kata's default devices (/dev/null, zero, full, tty, urandom, random
// with rwm) and its default-allowed rules (mknod of any char/block device, console, pts, ptmx,
// net/tun); apply() then adds the spec's own rules in order. A spec rule for "all devices, rwm" is
// not written as such: when allowed it switches to "allow all" (c *:* rwm and b *:* rwm, as Kata
// does, because the kernel refuses "a" once a cgroup has children); when denied it is what the
// reset already did.
//
// cgroup v2 has no devices controller: device-filter.ts turns these same writes into the eBPF
// program the v2 manager attaches.
import { int, type LinuxDeviceCgroup } from "./resources.ts";
import { cgLog } from "./fsutil.ts";

export interface DeviceWrite {
  file: "devices.allow" | "devices.deny";
  rule: string;
}

interface Rule {
  type: "a" | "c" | "b";
  major: number;
  minor: number;
  access: string;
}

/** Kata's DEFAULT_DEVICES (always created in the container's /dev), allowed rwm. */
export const DEFAULT_DEVICES: readonly Rule[] = [
  { type: "c", major: 1, minor: 3, access: "rwm" }, // /dev/null
  { type: "c", major: 1, minor: 5, access: "rwm" }, // /dev/zero
  { type: "c", major: 1, minor: 7, access: "rwm" }, // /dev/full
  { type: "c", major: 5, minor: 0, access: "rwm" }, // /dev/tty
  { type: "c", major: 1, minor: 9, access: "rwm" }, // /dev/urandom
  { type: "c", major: 1, minor: 8, access: "rwm" }, // /dev/random
];

/** Kata's DEFAULT_ALLOWED_DEVICES. */
export const DEFAULT_ALLOWED_DEVICES: readonly Rule[] = [
  { type: "c", major: -1, minor: -1, access: "m" }, // mknod of any char device
  { type: "b", major: -1, minor: -1, access: "m" }, // mknod of any block device
  { type: "c", major: 5, minor: 1, access: "rwm" }, // /dev/console
  { type: "c", major: 136, minor: -1, access: "rwm" }, // /dev/pts/*
  { type: "c", major: 5, minor: 2, access: "rwm" }, // /dev/ptmx
  { type: "c", major: 10, minor: 200, access: "rwm" }, // /dev/net/tun
];

function normalType(t: string | null | undefined): string {
  return t ? t : "a";
}

function normalAccess(a: string | null | undefined): string {
  return a ? a : "rwm";
}

/** "All devices, rwm": type a (or unset), any/zero major and minor (proto3 cannot tell 0 from unset). */
export function isAllDevicesRule(d: LinuxDeviceCgroup): boolean {
  const major = int(d.Major);
  const minor = int(d.Minor);
  const access = normalAccess(d.Access);
  return (
    normalType(d.Type) === "a" &&
    (major === 0 || major === -1) &&
    (minor === 0 || minor === -1) &&
    access.includes("r") && access.includes("w") && access.includes("m")
  );
}

function ruleText(r: Rule): string {
  if (r.type === "a") return "a";
  const n = (v: number) => (v < 0 ? "*" : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

function toRule(d: LinuxDeviceCgroup): Rule | undefined {
  const type = normalType(d.Type);
  const access = normalAccess(d.Access);
  if (!/^[rwm]+$/.test(access)) return undefined;
  if (type !== "c" && type !== "b") return undefined;
  return { type, major: int(d.Major), minor: int(d.Minor), access };
}

/** Set up by create(): deny everything, then allow Kata's defaults. */
export function initialDeviceWrites(): DeviceWrite[] {
  const writes: DeviceWrite[] = [{ file: "devices.deny", rule: "a" }];
  for (const r of [...DEFAULT_DEVICES, ...DEFAULT_ALLOWED_DEVICES]) writes.push({ file: "devices.allow", rule: ruleText(r) });
  return writes;
}

/**
 * The writes for the spec's rules, in order, on top of initialDeviceWrites(). The first "all
 * devices" rule decides the mode: allowed → every char and block device is allowed.
 */
export function specDeviceWrites(devices: readonly LinuxDeviceCgroup[]): DeviceWrite[] {
  const writes: DeviceWrite[] = [];
  if (devices.find(isAllDevicesRule)?.Allow === true) {
    writes.push({ file: "devices.allow", rule: "c *:* rwm" }, { file: "devices.allow", rule: "b *:* rwm" });
  }
  for (const d of devices) {
    if (isAllDevicesRule(d)) continue;
    const rule = toRule(d);
    if (!rule) {
      // A partial "a" rule would act on every device (the kernel ignores access for "a"): skip it.
      cgLog.warn("device cgroup rule skipped", { type: d.Type ?? "", access: d.Access ?? "", allow: d.Allow === true });
      continue;
    }
    writes.push({ file: d.Allow ? "devices.allow" : "devices.deny", rule: ruleText(rule) });
  }
  return writes;
}
