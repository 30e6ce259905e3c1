// OCI rlimit names -> RLIMIT_* numbers (asm-generic/resource.h, same on x86_64 and arm64).
import type { Rlimit } from "../sys/launch-plan.ts";
import type { Int64 } from "./oci-types.ts";
import { u64 } from "./numbers.ts";
import { SpecError, q } from "./spec-error.ts";

export const RLIMITS: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

export function rlimitNumber(name: string): number | undefined {
  return Object.hasOwn(RLIMITS, name) ? RLIMITS[name] : undefined;
}

/** An rlimit as grpc.IPOSIXRlimit has it, with limits in any 64-bit form (see numbers.ts). */
export interface RlimitInput {
  Type?: string | null;
  Hard?: Int64 | null;
  Soft?: Int64 | null;
}

/** Spec rlimits -> plan rlimits. Validation has already checked names, order and duplicates. */
export function planRlimits(list: readonly RlimitInput[] | null | undefined, field = "Process.Rlimits"): Rlimit[] {
  return (list ?? []).map((r, i) => {
    const resource = rlimitNumber(r.Type ?? "");
    if (resource === undefined) throw new SpecError(`${field}[${i}].Type`, `${q(r.Type ?? "")} is not a known rlimit`);
    return { resource, soft: u64(r.Soft), hard: u64(r.Hard) };
  });
}
