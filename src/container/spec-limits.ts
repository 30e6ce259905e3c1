// Caps on how much one spec may ask for. A guest agent serves every RPC on one thread, so a
// CreateContainer listing hundreds of thousands of mounts or env entries must be refused before
// any work (and before anything is mounted), not planned for seconds while every other call waits.
// Counts far beyond what any real pod uses answer RESOURCE_EXHAUSTED; strings the kernel cannot
// pass to execve (MAX_ARG_STRLEN) or that hold NUL bytes answer INVALID_ARGUMENT.
import type { IProcess, ISpec } from "./oci-types.ts";
import { SpecError } from "./spec-error.ts";

export const SPEC_LIMITS = {
  mounts: 4096,
  devices: 4096,
  maskedPaths: 4096,
  readonlyPaths: 4096,
  sysctls: 4096,
  args: 65536,
  env: 65536,
  additionalGids: 65536, // NGROUPS_MAX
  rlimits: 64,
} as const;

/** execve refuses any single argument or environment string longer than this (32 pages). */
export const MAX_ARG_STRLEN = 32 * 4096;

function count(field: string, list: readonly unknown[] | null | undefined, max: number): void {
  const n = list?.length ?? 0;
  if (n > max) throw new SpecError(field, `lists ${n} entries; at most ${max} are accepted`, "resource-exhausted");
}

function strings(field: string, list: readonly unknown[] | null | undefined): void {
  (list ?? []).forEach((s, i) => {
    if (typeof s !== "string") return; // the schema reports the type
    if (s.includes("\0")) throw new SpecError(`${field}[${i}]`, "contains a NUL byte");
    if (Buffer.byteLength(s) >= MAX_ARG_STRLEN) {
      throw new SpecError(`${field}[${i}]`, `is ${Buffer.byteLength(s)} bytes; execve takes at most ${MAX_ARG_STRLEN - 1}`);
    }
  });
}

export function checkProcessLimits(p: IProcess | null | undefined, base: string): void {
  if (!p) return;
  count(`${base}.Args`, p.Args, SPEC_LIMITS.args);
  count(`${base}.Env`, p.Env, SPEC_LIMITS.env);
  count(`${base}.User.AdditionalGids`, p.User?.AdditionalGids, SPEC_LIMITS.additionalGids);
  count(`${base}.Rlimits`, p.Rlimits, SPEC_LIMITS.rlimits);
  strings(`${base}.Args`, p.Args);
  strings(`${base}.Env`, p.Env);
}

export function checkSpecLimits(spec: ISpec): void {
  count("Spec.Mounts", spec.Mounts, SPEC_LIMITS.mounts);
  const linux = spec.Linux;
  if (linux) {
    count("Spec.Linux.Devices", linux.Devices, SPEC_LIMITS.devices);
    count("Spec.Linux.MaskedPaths", linux.MaskedPaths, SPEC_LIMITS.maskedPaths);
    count("Spec.Linux.ReadonlyPaths", linux.ReadonlyPaths, SPEC_LIMITS.readonlyPaths);
    count("Spec.Linux.Sysctl", Object.keys(linux.Sysctl ?? {}), SPEC_LIMITS.sysctls);
  }
  checkProcessLimits(spec.Process, "Spec.Process");
}
