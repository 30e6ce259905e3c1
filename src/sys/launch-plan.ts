// The contract between TypeScript (which plans) and the C launcher (which executes).
// src/container/plan.ts turns an OCI spec into a LaunchPlan; src/sys/launcher.ts serialises it
// for the C launcher (src/sys/native/launch/), whose child carries it out step by step and
// reports {step, errno} on failure.
// Everything here is plain data: no OCI types, no protobuf objects.

export type NamespaceKind = "pid" | "mount" | "uts" | "ipc" | "net" | "cgroup" | "user";

export interface NamespaceStep {
  kind: NamespaceKind;
  /** Join this namespace (e.g. /proc/PID/ns/net or a bind-mounted ns file); absent = create a new one.
   *  A new "user" namespace needs `idMaps`; the other new namespaces are then owned by it. */
  path?: string;
}

/** One mount, in order. `target` is absolute inside the container (resolved against the new root). */
export interface MountStep {
  source: string;
  target: string;
  fstype: string;
  /** MS_* flags for the mount call (MS_BIND for binds; MS_REC with it for rbind). */
  flags: number;
  /** Filesystem-specific data string ("mode=755,size=65536k"). */
  data: string;
  /** MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE (| MS_REC), applied after the mount; 0 = none. */
  propagation: number;
  /** Flags for a MS_REMOUNT|MS_BIND pass (readonly binds need a remount to take effect); 0 = none. */
  remountFlags: number;
  /** Create the target as a file (bind of a non-directory) rather than a directory when missing. */
  targetIsFile: boolean;
}

export interface DeviceStep {
  /** Absolute path inside the container. */
  path: string;
  /** 'c' char, 'b' block, 'p' fifo. */
  type: "c" | "b" | "p";
  major: number;
  minor: number;
  /** Permission bits (0666 by default). */
  mode: number;
  uid: number;
  gid: number;
}

export interface Rlimit {
  /** RLIMIT_* number. */
  resource: number;
  soft: bigint;
  hard: bigint;
}

/** Capability sets as 64-bit masks (bit n = capability n). */
export interface CapSets {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

export interface LaunchPlan {
  namespaces: NamespaceStep[];
  /** Host path of the container's root filesystem; absent = no pivot_root (hooks, plain helpers). */
  rootfs?: string;
  rootReadonly: boolean;
  /** The mount the rootfs lives on, when it is shared: made private in the container's namespace
   *  before the rootfs is bound (pivot_root refuses a shared parent, and the container's mounts
   *  would propagate into the agent's namespace), as runc and Kata do. */
  rootfsParentPrivate?: string;
  /** Propagation applied to "/" before anything else (0 = the default MS_REC|MS_PRIVATE), and again to the new root after pivot_root. */
  rootPropagation: number;
  mounts: MountStep[];
  devices: DeviceStep[];
  /** [target, linkPath] pairs created inside the container (e.g. ["/proc/self/fd", "/dev/fd"]). */
  symlinks: [string, string][];
  maskedPaths: string[];
  readonlyPaths: string[];
  hostname?: string;
  /** [key in dotted or slashed form, value]: written to /proc/sys/... after pivot_root. */
  sysctls: [string, string][];
  rlimits: Rlimit[];
  oomScoreAdj?: number;
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Default 0o022. */
  umask?: number;
  /** null = keep the agent's capabilities (hooks). */
  caps: CapSets | null;
  noNewPrivileges: boolean;
  /** setsid() and make fd 0 the controlling terminal (Process.Terminal). */
  terminal: boolean;
  cwd: string;
  /** Absolute path of the executable inside the container (already looked up in PATH). */
  exe: string;
  args: string[];
  env: string[];
  /** Descriptors in the agent that become the child's 0, 1, 2 (-1 = leave the agent's own in place). */
  stdio: [number, number, number];
  /** Open cgroup.procs descriptors; the child writes "0" to each to join before anything else. */
  cgroupProcsFds: number[];
  /** A seccomp filter (classic BPF, 8 bytes per instruction, compiled by src/seccomp/) and the
   *  seccomp(2) flags; loaded in Kata's order relative to no_new_privs and capabilities. */
  seccomp?: { filter: Uint8Array; flags: number };
  /** uid_map and gid_map contents ("inside outside count" lines) for a new user namespace. */
  idMaps?: { uid: string; gid: string };
}

/**
 * A plan for a helper process in the agent's own world (OCI hooks, debug-console shells, the
 * sandbox's pid-namespace holder): no rootfs, no mounts, the agent's capabilities and ids.
 */
export function hostProcessPlan(p: Pick<LaunchPlan, "exe" | "args" | "env" | "stdio"> & Partial<LaunchPlan>): LaunchPlan {
  return {
    namespaces: [], rootReadonly: false, rootPropagation: 0, mounts: [], devices: [], symlinks: [],
    maskedPaths: [], readonlyPaths: [], sysctls: [], rlimits: [],
    uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, additionalGids: [],
    caps: null, noNewPrivileges: false, terminal: false, cwd: "/", cgroupProcsFds: [],
    ...p,
  };
}
