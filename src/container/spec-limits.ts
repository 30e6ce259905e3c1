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
  noNul(p, base);
  count(`${base}.Args`, p.Args, SPEC_LIMITS.args);
  count(`${base}.Env`, p.Env, SPEC_LIMITS.env);
  count(`${base}.User.AdditionalGids`, p.User?.AdditionalGids, SPEC_LIMITS.additionalGids);
  count(`${base}.Rlimits`, p.Rlimits, SPEC_LIMITS.rlimits);
  strings(`${base}.Args`, p.Args);
  strings(`${base}.Env`, p.Env);
}

/** Linux's HOST_NAME_MAX: sethostname refuses longer names. */
export const HOST_NAME_MAX = 64;

/** No string anywhere in the spec may hold a NUL byte: every one ends up a C string (a path,
 *  a mount type or option, a hostname, a sysctl, a cgroup path), where it would be cut short. */
function noNul(value: unknown, field: string, depth = 0): void {
  if (typeof value === "string") {
    if (value.includes("\0")) throw new SpecError(field, "contains a NUL byte");
    return;
  }
  if (value === null || typeof value !== "object" || depth > 16 || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    value.forEach((x, i) => noNul(x, `${field}[${i}]`, depth + 1));
    return;
  }
  for (const [k, x] of Object.entries(value)) {
    if (k.includes("\0")) throw new SpecError(`${field}[${JSON.stringify(k)}]`, "has a NUL byte in its key");
    noNul(x, /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${field}.${k}` : `${field}[${JSON.stringify(k)}]`, depth + 1);
  }
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
  noNul(spec, "Spec");
  if (typeof spec.Hostname === "string" && Buffer.byteLength(spec.Hostname) > HOST_NAME_MAX) {
    throw new SpecError("Spec.Hostname", `is ${Buffer.byteLength(spec.Hostname)} bytes; a hostname has at most ${HOST_NAME_MAX}`);
  }
}
