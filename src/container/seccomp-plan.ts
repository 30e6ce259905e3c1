// Spec.Linux.Seccomp → the filter the launcher loads. The compiler (src/seccomp/, with its
// syscall tables) is loaded on the first container that has a profile.
import { u64 } from "./numbers.ts";
import type { ILinuxSeccomp } from "./oci-types.ts";
import type { Logger } from "../log/logger.ts";
import type { SeccompProfile } from "../seccomp/profile.ts";

export interface SeccompFilter {
  filter: Uint8Array;
  flags: number;
}

export function seccompProfile(s: ILinuxSeccomp): SeccompProfile {
  return {
    defaultAction: s.DefaultAction ?? "",
    architectures: [...(s.Architectures ?? [])],
    flags: [...(s.Flags ?? [])],
    syscalls: (s.Syscalls ?? []).map((r) => ({
      names: [...(r.Names ?? [])],
      action: r.Action ?? "",
      errnoRet: r.errnoret ?? undefined,
      args: (r.Args ?? []).map((a) => ({ index: Number(a.Index ?? 0), value: u64(a.Value), valueTwo: u64(a.ValueTwo), op: a.Op ?? "" })),
    })),
  };
}

/** undefined when the spec has no profile (or an empty one: no DefaultAction, as runtimes send
 *  for "unconfined"). */
export async function planSeccomp(s: ILinuxSeccomp | null | undefined, log: Logger): Promise<SeccompFilter | undefined> {
  if (!s || !s.DefaultAction) return undefined;
  const { compileSeccomp } = await import("../seccomp/compile.ts");
  const c = compileSeccomp(seccompProfile(s));
  if (c.unknownNames.length > 0) log.debug("seccomp: syscall names unknown here were skipped", { names: c.unknownNames });
  return { filter: c.filter, flags: c.flags };
}
