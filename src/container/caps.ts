// Linux capability names <-> bit numbers (linux/capability.h, up to CAP_CHECKPOINT_RESTORE = 40),
// and OCI capability lists -> the 64-bit masks of the LaunchPlan.
import { readFileSync } from "node:fs";
import type { CapSets } from "../sys/launch-plan.ts";
import type { ILinuxCapabilities } from "./oci-types.ts";
import { SpecError, q } from "./spec-error.ts";

/** Index = capability number. */
export const CAP_NAMES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

export type CapName = (typeof CAP_NAMES)[number];

const BY_NAME = new Map<string, number>(CAP_NAMES.map((n, i) => [n, i]));

/** Bit number of a capability name ("CAP_KILL"); the CAP_ prefix is required, like runc. */
export function capBit(name: string): number | undefined {
  return BY_NAME.get(name);
}

export function capName(bit: number): CapName | undefined {
  return CAP_NAMES[bit];
}

export function isCapName(name: string): boolean {
  return BY_NAME.has(name);
}

/** Names of the bits set in a mask, lowest first. */
export function capNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; i < CAP_NAMES.length; i++) if ((mask >> BigInt(i)) & 1n) out.push(CAP_NAMES[i]!);
  return out;
}

let lastCapCache: number | undefined;

/** Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap). */
export function kernelLastCap(): number {
  if (lastCapCache === undefined) {
    try {
      lastCapCache = Number.parseInt(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim(), 10);
    } catch {
      lastCapCache = CAP_NAMES.length - 1;
    }
    if (!Number.isInteger(lastCapCache) || lastCapCache < 0) lastCapCache = CAP_NAMES.length - 1;
  }
  return lastCapCache;
}

/** Mask of every capability bit up to and including `lastCap`. */
export function allCapsMask(lastCap = kernelLastCap()): bigint {
  return (1n << BigInt(lastCap + 1)) - 1n;
}

/** One capability list -> mask. Unknown names are a SpecError naming the list entry. */
export function capsToMask(names: readonly string[] | null | undefined, field: string): bigint {
  let mask = 0n;
  (names ?? []).forEach((n, i) => {
    const bit = capBit(n);
    if (bit === undefined) throw new SpecError(`${field}[${i}]`, `${q(n)} is not a known capability`);
    mask |= 1n << BigInt(bit);
  });
  return mask;
}

/**
 * OCI capabilities -> CapSets. Capabilities the running kernel does not know are dropped from
 * every set (runc does the same, with a warning), so the launcher never asks for an invalid bit.
 */
export function capSets(c: ILinuxCapabilities, field = "Process.Capabilities", lastCap = kernelLastCap()): CapSets {
  const known = allCapsMask(lastCap);
  return {
    bounding: capsToMask(c.Bounding, `${field}.Bounding`) & known,
    effective: capsToMask(c.Effective, `${field}.Effective`) & known,
    permitted: capsToMask(c.Permitted, `${field}.Permitted`) & known,
    inheritable: capsToMask(c.Inheritable, `${field}.Inheritable`) & known,
    ambient: capsToMask(c.Ambient, `${field}.Ambient`) & known,
  };
}
