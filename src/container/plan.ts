// OCI spec -> LaunchPlan: everything the C launcher needs to start a container's first process
// (planContainer) or a process inside a running container (planExec), decided here in
// TypeScript so the C side only executes plain steps. Errors are SpecErrors naming the field.
//
// Behaviour follows Kata's rustjail (container.rs do_init_child, mount.rs):
//   - the container always gets a pid namespace: the sandbox's when it is shared, else a new one;
//   - the hostname is set only in a new uts namespace;
//   - oom_score_adj is always written (0 when unset), so workloads do not inherit the agent's
//     -997 from kata-agent.service;
//   - HOME is added from the container's /etc/passwd (else "/") when the env lacks it; PATH is
//     not added (the default PATH is only used to look the command up);
//   - no Capabilities = the process keeps the agent's (caps: null); an exec without
//     Capabilities inherits the container's;
//   - umask 0022 (Kata sets it after pivot_root).
import { realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { log } from "../log/logger.ts";
import type { CapSets, LaunchPlan, NamespaceKind, NamespaceStep } from "../sys/launch-plan.ts";
import { capSets } from "./caps.ts";
import { lookupExecutable, envValue } from "./exe-lookup.ts";
import { rootPropagationFlags } from "./mount-options.ts";
import { namespaceKind, procNamespacePath } from "./namespaces.ts";
import { i64 } from "./numbers.ts";
import type { ILinux, ILinuxCapabilities, ILinuxNamespace, IProcess } from "./oci-types.ts";
import { detectCgroupView, planDevices, planDevSymlinks, planMounts, type CgroupView } from "./plan-mounts.ts";
import { planRlimits } from "./rlimits.ts";
import { RootView } from "./rootfs-view.ts";
import { sharedMountOf } from "./rootfs-parent.ts";
import type { SeccompFilter } from "./seccomp-plan.ts";
import { SpecError, q } from "./spec-error.ts";
import { validateProcess, type ValidSpec } from "./spec-validate.ts";
import { resolveUser } from "./user.ts";

export type { CgroupView } from "./plan-mounts.ts";

const clog = log.child({ subsystem: "container" });

const DEFAULT_UMASK = 0o022;

export interface ContainerPlanOptions {
  /** Host (guest) path of the container's root filesystem, e.g. /run/kata-containers/<cid>/rootfs. */
  rootfsHostPath: string;
  /** For tests: the shared mount holding the rootfs (default: looked up in /proc/self/mountinfo). */
  rootfsParentPrivate?: string;
  stdio: [number, number, number];
  cgroupProcsFds: number[];
  /** Join this pid namespace (the sandbox's, when the sandbox shares one) instead of a new one. */
  sandboxPidnsPath?: string;
  /** Namespaces to join instead of creating them, for types the spec lists (Kata: the sandbox's ipc and uts). */
  sharedNamespacePaths?: Partial<Record<NamespaceKind, string>>;
  /** Directory relative bind-mount sources are resolved against; default: the rootfs's parent. */
  bundlePath?: string;
  /** For mounts of type "cgroup"; detected from /sys/fs/cgroup when absent. */
  cgroups?: CgroupView;
  /** The compiled Linux.Seccomp (container-seccomp.ts); absent = no filter. */
  seccomp?: SeccompFilter;
}

export interface ExecPlanOptions {
  initPid: number;
  /**
   * Where to look up the user and the executable. /proc/<initPid>/root is the most faithful
   * (it includes the container's mounts); the rootfs path works when nothing is mounted over it.
   */
  rootfsHostPath: string;
  /**
   * The container's namespaces; each is joined through /proc/<initPid>/ns/. Either launcher
   * kinds ("net") or OCI type names ("network") straight from Spec.Linux.Namespaces.
   */
  namespaces: readonly (NamespaceKind | string)[];
  stdio: [number, number, number];
  cgroupProcsFds: number[];
  /** The container's seccomp filter: exec'd processes get it too (as in Kata and runc). */
  seccomp?: SeccompFilter;
  /** The container's Process.Capabilities, inherited when the exec'd process has none. */
  containerCapabilities?: ILinuxCapabilities | null;
}

function planNamespaces(list: readonly ILinuxNamespace[], opts: ContainerPlanOptions): NamespaceStep[] {
  const steps: NamespaceStep[] = [];
  let pidSeen = false;
  for (const ns of list) {
    const kind = namespaceKind(ns.Type ?? "");
    if (!kind) continue; // validateSpec rejected unknown types already
    let path = opts.sharedNamespacePaths?.[kind] || ns.Path || undefined;
    if (kind === "pid") {
      pidSeen = true;
      path = opts.sandboxPidnsPath || path;
    }
    steps.push(path ? { kind, path } : { kind });
  }
  if (!pidSeen) steps.push(opts.sandboxPidnsPath ? { kind: "pid", path: opts.sandboxPidnsPath } : { kind: "pid" });
  return steps;
}

/** Process.Env without malformed entries (Kata skips them), plus HOME when missing. */
function planEnv(env: readonly string[], home: string): string[] {
  const out = env.filter((e) => e.indexOf("=") > 0);
  if (envValue(out, "HOME") === undefined) out.push(`HOME=${home}`);
  return out;
}

/** The parts of a plan that come from Process alone (shared by planContainer and planExec). */
function planProcess(process: IProcess, view: RootView, field: string, inheritedCaps?: ILinuxCapabilities | null) {
  const user = resolveUser(view, process.User, `${field}.User`);
  const cwd = process.Cwd || "/";
  const env = planEnv(process.Env ?? [], user.home);
  const args = [...(process.Args ?? [])];
  const exe = lookupExecutable(view, args[0] ?? "", env, { cwd, field: `${field}.Args[0]` });
  const capsSource = process.Capabilities ?? inheritedCaps ?? null;
  const caps: CapSets | null = capsSource ? capSets(capsSource, `${field}.Capabilities`) : null;
  if (process.ApparmorProfile) clog.warn("ignoring Process.ApparmorProfile: AppArmor is not supported", { profile: process.ApparmorProfile });
  if (process.SelinuxLabel) clog.warn("ignoring Process.SelinuxLabel: SELinux is not supported", { label: process.SelinuxLabel });
  return {
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.additionalGids,
    umask: DEFAULT_UMASK,
    caps,
    noNewPrivileges: process.NoNewPrivileges ?? false,
    terminal: process.Terminal ?? false,
    cwd,
    exe,
    args,
    env,
    rlimits: planRlimits(process.Rlimits, `${field}.Rlimits`),
    oomScoreAdj: i64(process.OOMScoreAdj),
  };
}

function realRootfs(hostPath: string): string {
  let real: string;
  try {
    real = realpathSync(hostPath);
  } catch {
    throw new SpecError("Spec.Root.Path", `${q(hostPath)}: the container rootfs does not exist in the guest`);
  }
  if (!statSync(real).isDirectory()) throw new SpecError("Spec.Root.Path", `${q(hostPath)} is not a directory`);
  return real;
}

export function planContainer(spec: ValidSpec, opts: ContainerPlanOptions): LaunchPlan {
  const linux = spec.Linux!;
  const process = spec.Process!;
  const rootfs = realRootfs(opts.rootfsHostPath);
  const view = new RootView(rootfs);

  const namespaces = planNamespaces(linux.Namespaces ?? [], opts);
  const { mounts, devFromGuest } = planMounts(spec.Mounts ?? [], view, {
    bundlePath: opts.bundlePath ?? dirname(rootfs),
    cgroups: opts.cgroups ?? detectCgroupView(),
  });
  const newUts = namespaces.some((n) => n.kind === "uts" && !n.path);

  return {
    namespaces,
    rootfs,
    rootReadonly: spec.Root?.Readonly ?? false,
    rootPropagation: rootPropagationFlags(linux.RootfsPropagation)!,
    rootfsParentPrivate: opts.rootfsParentPrivate ?? sharedMountOf(rootfs),
    mounts,
    devices: devFromGuest ? [] : planDevices(linux.Devices ?? []),
    symlinks: devFromGuest ? [] : planDevSymlinks(),
    maskedPaths: [...(linux.MaskedPaths ?? [])],
    readonlyPaths: [...(linux.ReadonlyPaths ?? [])],
    hostname: newUts && spec.Hostname ? spec.Hostname : undefined,
    sysctls: Object.entries(linux.Sysctl ?? {}),
    ...planProcess(process, view, "Spec.Process"),
    stdio: opts.stdio,
    cgroupProcsFds: opts.cgroupProcsFds,
    seccomp: opts.seccomp,
    idMaps: namespaces.some((n) => n.kind === "user" && !n.path) ? idMaps(linux) : undefined,
  };
}

/** Spec.Linux.UIDMappings/GIDMappings as uid_map/gid_map text ("inside outside count" lines). */
function idMaps(linux: ILinux): { uid: string; gid: string } {
  const text = (list: { ContainerID?: number | null; HostID?: number | null; Size?: number | null }[] | null | undefined) =>
    (list ?? []).map((m) => `${m.ContainerID ?? 0} ${m.HostID ?? 0} ${m.Size ?? 0}\n`).join("");
  return { uid: text(linux.UIDMappings), gid: text(linux.GIDMappings) };
}

const KINDS: readonly NamespaceKind[] = ["pid", "mount", "uts", "ipc", "net", "cgroup", "user"];

function execNamespaces(names: readonly string[]): NamespaceKind[] {
  const kinds = names.map((n) => {
    const kind = namespaceKind(n) ?? KINDS.find((k) => k === n);
    if (!kind) throw new SpecError("Linux.Namespaces", `${q(n)} is not a namespace type`);
    return kind;
  });
  return [...new Set(kinds)];
}

export function planExec(process: IProcess, opts: ExecPlanOptions): LaunchPlan {
  validateProcess(process, "Process");
  const view = new RootView(opts.rootfsHostPath);
  return {
    namespaces: execNamespaces(opts.namespaces).map((kind) => ({ kind, path: procNamespacePath(opts.initPid, kind) })),
    rootfs: undefined,
    rootReadonly: false,
    rootPropagation: 0,
    mounts: [],
    devices: [],
    symlinks: [],
    maskedPaths: [],
    readonlyPaths: [],
    hostname: undefined,
    sysctls: [],
    ...planProcess(process, view, "Process", opts.containerCapabilities),
    stdio: opts.stdio,
    cgroupProcsFds: opts.cgroupProcsFds,
    seccomp: opts.seccomp,
  };
}
