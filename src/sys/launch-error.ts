// Failures of the C launcher, as {step, index, errno}, turned into messages that name the step,
// the object and the errno: "mount proc on /proc: EPERM", "execve /bin/nope: ENOENT",
// "setns /proc/123/ns/net: EINVAL". Pure data: no FFI, usable from unit tests.
import type { ErrorKind } from "../errors.ts";
import { errnoName } from "./errno.ts";
import type { LaunchPlan } from "./launch-plan.ts";

/** Step names by number: the order of `enum step` in src/sys/native/launch/steps.h (keep in sync). */
export const STEPS = [
  "none", "plan", "clone", "signals", "cgroup", "setns", "unshare", "pidns-clone", "stdio", "setsid",
  "ctty", "root-propagation", "rootfs-bind", "mount-target", "mount", "mount-propagation", "mount-remount",
  "device", "symlink", "pivot-root", "old-root", "mask", "readonly", "sysctl", "root-readonly", "hostname",
  "rlimit", "oom-score-adj", "cwd", "groups", "gid", "uid", "cap-bounding", "capset", "cap-ambient",
  "no-new-privs", "fds", "execve", "gate-execve", "seccomp", "userns",
] as const;
export type LaunchStep = (typeof STEPS)[number] | "start";
export const STEP_EXEC = STEPS.indexOf("execve");

const RLIMIT_NAMES = ["CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS",
  "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"];

/**
 * Which failures are the request's fault. The launcher carries out what the spec asked for, so an
 * errno that says "this path / value / type / executable is wrong" at a step driven by the spec
 * is INVALID_ARGUMENT; a start on a container whose init is gone is FAILED_PRECONDITION; a
 * kernel out of processes or memory is RESOURCE_EXHAUSTED; anything else is ours (INTERNAL).
 */
const CALLER_ERRNOS: Partial<Record<LaunchStep, readonly string[]>> = {
  setns: ["ENOENT", "EINVAL", "ENOTDIR", "EBADF"],
  "mount-target": ["ENOENT", "ENOTDIR", "ELOOP", "EEXIST", "EISDIR", "ENAMETOOLONG", "EROFS", "EACCES"],
  mount: ["EINVAL", "ENODEV", "ENOENT", "ENOTDIR", "ELOOP", "ENOTBLK", "ENXIO", "EACCES", "ENAMETOOLONG", "EROFS", "EPERM"],
  "mount-propagation": ["EINVAL"],
  "mount-remount": ["EINVAL", "EPERM"],
  device: ["EEXIST", "EINVAL", "ENOTDIR", "ELOOP", "EROFS", "ENOENT"],
  symlink: ["EEXIST", "ENOTDIR", "ELOOP", "EROFS"],
  mask: ["ENOTDIR", "ELOOP", "EINVAL"],
  readonly: ["ENOTDIR", "ELOOP", "EINVAL"],
  sysctl: ["ENOENT", "EINVAL", "EACCES", "EPERM", "EROFS", "ERANGE", "ENOTDIR"],
  hostname: ["EINVAL", "ENAMETOOLONG"],
  rlimit: ["EINVAL", "EPERM"],
  "oom-score-adj": ["EINVAL", "EACCES"],
  cwd: ["ENOENT", "ENOTDIR", "EACCES", "ELOOP", "ENAMETOOLONG"],
  groups: ["EINVAL", "EPERM"],
  gid: ["EINVAL"],
  uid: ["EINVAL"],
  "gate-execve": ["E2BIG"],
  seccomp: ["EINVAL"], // a profile whose flags this kernel does not know
  userns: ["EINVAL", "EPERM"], // overlapping or unmappable ranges // the gate carries the workload's args and env to its own execve
  execve: ["ENOENT", "EACCES", "ENOEXEC", "E2BIG", "ELOOP", "ENOTDIR", "ETXTBSY", "EISDIR", "ENAMETOOLONG", "ELIBBAD", "EPERM"],
};
const EXHAUSTED_ERRNOS = ["EAGAIN", "ENOMEM", "ENOSPC", "EMFILE", "ENFILE", "EUSERS"];

export function launchErrorKind(step: LaunchStep, errno: number): ErrorKind {
  if (step === "start") return "precondition";
  if (!errno) return "internal";
  const name = errnoName(errno);
  if (EXHAUSTED_ERRNOS.includes(name)) return "resource-exhausted";
  return CALLER_ERRNOS[step]?.includes(name) ? "invalid" : "internal";
}

export class LaunchError extends Error {
  readonly kind: ErrorKind;
  constructor(
    readonly step: LaunchStep,
    /** Which element of the plan's list (mount, device, namespace...) failed; 0 otherwise. */
    readonly index: number,
    /** 0 when the process died inside the step instead of reporting an errno. */
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = "LaunchError";
    this.kind = launchErrorKind(step, errno);
  }
  get code(): string {
    return this.errno ? errnoName(this.errno) : "";
  }
}

/** What the step was doing, naming the object from the plan. */
export function describeStep(plan: LaunchPlan, step: LaunchStep, index: number): string {
  const at = <T>(list: T[]): T | undefined => list[index];
  switch (step) {
    case "plan": return "invalid launch plan";
    case "clone": return "clone";
    case "signals": return "reset signal handlers";
    case "cgroup": return `join cgroup (cgroup.procs fd ${plan.cgroupProcsFds[index]})`;
    case "setns": return `setns ${at(plan.namespaces)?.path ?? "?"}`;
    case "unshare": return `unshare ${at(plan.namespaces)?.kind ?? "?"} namespace`;
    case "pidns-clone": return `clone into pid namespace ${plan.namespaces.find((n) => n.kind === "pid")?.path ?? "?"}`;
    case "stdio": return `dup2 fd ${plan.stdio[index]} to ${index}`;
    case "setsid": return "setsid";
    case "ctty": return "set controlling terminal";
    case "root-propagation": return "set propagation of /";
    case "rootfs-bind": return `bind rootfs ${plan.rootfs}`;
    case "mount-target": return `create mount target ${at(plan.mounts)?.target}`;
    case "mount": { const m = at(plan.mounts); return `mount ${m?.source || m?.fstype} on ${m?.target}`; }
    case "mount-propagation": return `set propagation of ${at(plan.mounts)?.target}`;
    case "mount-remount": return `remount ${at(plan.mounts)?.target}`;
    case "device": return `create device ${at(plan.devices)?.path}`;
    case "symlink": { const s = at(plan.symlinks); return `symlink ${s?.[1]} -> ${s?.[0]}`; }
    case "pivot-root": return `pivot_root ${plan.rootfs}`;
    case "old-root": return "detach old root";
    case "mask": return `mask ${at(plan.maskedPaths)}`;
    case "readonly": return `make ${at(plan.readonlyPaths)} readonly`;
    case "sysctl": { const s = at(plan.sysctls); return `sysctl ${s?.[0]}=${s?.[1]}`; }
    case "root-readonly": return "remount / readonly";
    case "hostname": return `sethostname ${plan.hostname}`;
    case "rlimit": { const r = at(plan.rlimits); return `setrlimit RLIMIT_${RLIMIT_NAMES[r?.resource ?? -1] ?? r?.resource}`; }
    case "oom-score-adj": return `write oom_score_adj ${plan.oomScoreAdj}`;
    case "cwd": return `chdir ${plan.cwd}`;
    case "groups": return `setgroups [${plan.additionalGids.join(",")}]`;
    case "gid": return `setresgid ${plan.gid}`;
    case "uid": return `setresuid ${plan.uid}`;
    case "cap-bounding": return `drop capability ${index} from the bounding set`;
    case "capset": return "capset";
    case "cap-ambient": return index < 0 ? "clear ambient capabilities" : `raise ambient capability ${index}`;
    case "no-new-privs": return "set no_new_privs";
    case "fds": return "prepare descriptors";
    case "execve": return `execve ${plan.exe}`;
    case "gate-execve": return "execve gate";
    case "userns": return ["create the user namespace", `write uid_map ${JSON.stringify(plan.idMaps?.uid ?? "")}`,
      `write gid_map ${JSON.stringify(plan.idMaps?.gid ?? "")}`, "become root in the user namespace (uid and gid 0 must be mapped)"][index] ?? "user namespace";
    case "seccomp": return `load the seccomp filter (${(plan.seccomp?.filter.length ?? 0) / 8} instructions)`;
    case "start": return "start";
    case "none": return "launch";
  }
}

/** A LaunchError from the launcher's {step, index, errno} report. */
export function launchFailure(plan: LaunchPlan, stepNo: number, index: number, errno: number): LaunchError {
  const step: LaunchStep = STEPS[stepNo] ?? "none";
  const what = describeStep(plan, step, index);
  const why = errno ? errnoName(errno) : "the process died during this step";
  return new LaunchError(step, index, errno, `${what}: ${why}${hint(step, errno)}`);
}

const EACCES = 13;

/** Why a step fails in a way that is not the request's fault. */
function hint(step: LaunchStep, errno: number): string {
  // The kernel refuses to lower oom_score_adj below the process's oom_score_adj_min without
  // CAP_SYS_RESOURCE, whoever the target user is: a guest agent has it; a test host may not.
  if (step === "oom-score-adj" && errno === EACCES) return " (lowering oom_score_adj needs CAP_SYS_RESOURCE, which the agent lacks)";
  return "";
}
