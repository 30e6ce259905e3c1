// Docker's default seccomp profile (test/fixtures/seccomp-docker-default.json, moby's own format)
// reduced to the OCI Linux.Seccomp a container with `caps` gets on amd64, the way moby's
// setupSeccomp does: the arch map's entry for x86_64, and rules kept or dropped by their
// includes/excludes (arches, caps, minKernel).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SeccompProfile } from "../../../src/seccomp/profile.ts";

interface MobyRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
  includes?: { arches?: string[]; caps?: string[]; minKernel?: string };
  excludes?: { arches?: string[]; caps?: string[] };
}

export const DOCKER_DEFAULT_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

export function dockerDefaultJson(): { defaultAction: string; archMap: { architecture: string; subArchitectures: string[] | null }[]; syscalls: MobyRule[] } {
  return JSON.parse(readFileSync(join(import.meta.dir, "../../fixtures/seccomp-docker-default.json"), "utf8"));
}

export function dockerProfile(caps = DOCKER_DEFAULT_CAPS, kernel: [number, number] = [6, 1]): SeccompProfile {
  const moby = dockerDefaultJson();
  const native = moby.archMap.find((a) => a.architecture === "SCMP_ARCH_X86_64")!;
  const syscalls = moby.syscalls.filter((r) => {
    const inc = r.includes ?? {}, exc = r.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes("amd64")) return false;
    if (inc.caps?.some((c) => !caps.includes(c))) return false;
    if (inc.minKernel) {
      const [maj, min] = inc.minKernel.split(".").map(Number) as [number, number];
      if (kernel[0] < maj || (kernel[0] === maj && kernel[1] < min)) return false;
    }
    if (exc.arches?.includes("amd64")) return false;
    if (exc.caps?.some((c) => caps.includes(c))) return false;
    return true;
  });
  return {
    defaultAction: moby.defaultAction,
    architectures: [native.architecture, ...(native.subArchitectures ?? [])],
    flags: [],
    syscalls: syscalls.map((r) => ({
      names: r.names,
      action: r.action,
      errnoRet: r.errnoRet,
      args: (r.args ?? []).map((a) => ({ index: a.index, value: BigInt(a.value), valueTwo: BigInt(a.valueTwo ?? 0), op: a.op })),
    })),
  };
}
