// The cgroup manager of one container: the interface the container code uses, and newManager(),
// which builds the v1 or v2 implementation for a container's linux.cgroupsPath.
//
// Life cycle: create() makes the directories (and, on v1, the device whitelist); apply() writes the
// spec's resources; the launcher's child joins through procsFds() (or addProcess() for an existing
// pid); update() is UpdateContainer; freeze()/thaw() are Pause/Resume; stats() is StatsContainer;
// destroy() removes what create() made once the processes are gone (it never kills anything).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { detectLayout, V1_CONTROLLERS, type CgroupLayout } from "./detect.ts";
import { resolveCgroupPath } from "./path.ts";
import type { Resources } from "./resources.ts";
import type { CgroupStats } from "./stats.ts";
import { V1Manager, type V1Hierarchy } from "./v1.ts";
import { V2Manager } from "./v2.ts";

/** How the container's cgroups look from inside it, for mounts of type "cgroup" in its spec. */
export type CgroupMountView =
  | { version: 2 }
  | {
      version: 1;
      /** One entry per hierarchy: mount name under /sys/fs/cgroup ("cpu,cpuacct") and the guest
       * path of the container's cgroup in it (/sys/fs/cgroup/cpu,cpuacct/<cgroupsPath>). */
      controllers: { name: string; hostPath: string }[];
    };

export interface CgroupManager {
  /** The container's cgroup path as /proc/PID/cgroup shows it ("/kata_agent/abc"). */
  readonly path: string;
  /** The hierarchies a "cgroup" mount inside the container shows (the planner binds them on v1). */
  mountView(): CgroupMountView;
  create(): void;
  apply(r: Resources): void;
  update(r: Resources): void;
  /** cgroup.procs of every hierarchy opened O_WRONLY|O_CLOEXEC, for the launcher to write "0" into. Caller closes. */
  procsFds(): number[];
  addProcess(pid: number): void;
  /** Every pid in the container's cgroup and in cgroups below it. */
  pids(): number[];
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** True unless the cgroup is fully thawed: a process joining it now would stop in the kernel. */
  isFrozen(): boolean;
  stats(): CgroupStats;
  /** How many processes the kernel OOM killer has killed in this cgroup. */
  oomKilled(): number;
  /** The hierarchy holding the cpuset controller and this container's directory in it (OnlineCPUMem
   *  widens the cpusets of every level after CPU hotplug); undefined when cpuset is not mounted. */
  cpusetLocation(): { root: string; dir: string } | undefined;
  /** Removes the directories create() made, retrying while tasks drain; kills nothing; throws if still busy. */
  destroy(timeoutMs?: number): Promise<void>;
}

export interface ManagerOptions {
  version: 1 | 2;
  /** OCI linux.cgroupsPath (absolute, relative, "slice:prefix:name" or empty). */
  cgroupsPath: string;
  containerId: string;
  /**
   * Where the hierarchies live (default /sys/fs/cgroup). v1: the directory holding one mount per
   * controller; v2: the cgroup2 mount itself (by default the unified mount found in mountinfo,
   * e.g. /sys/fs/cgroup/unified on a hybrid host).
   */
  root?: string;
  /** For tests: the mount layout instead of /proc/self/mountinfo. */
  layout?: CgroupLayout;
}

const DEFAULT_ROOT = "/sys/fs/cgroup";

/**
 * v1 hierarchies below `root`: the v1 mounts from mountinfo (which also reveals co-mounted
 * controllers such as "cpu,cpuacct"); when none are mounted there (a test tree), the directories
 * of `root` named after controllers ("memory", "cpu,cpuacct").
 */
function v1Hierarchies(root: string, layout: CgroupLayout): V1Hierarchy[] {
  const known = (c: string) => (V1_CONTROLLERS as readonly string[]).includes(c);
  const mounted = layout.v1
    .filter((m) => m.mountPoint.startsWith(root + "/") && m.controllers.some(known))
    .map((m) => ({ mountPoint: m.mountPoint, controllers: m.controllers.filter(known) }));
  if (mounted.length > 0) return mounted;
  const found: V1Hierarchy[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue; // symlinks such as cpu -> cpu,cpuacct are aliases
    const controllers = e.name.split(",").filter(known);
    if (controllers.length > 0) found.push({ mountPoint: join(root, e.name), controllers });
  }
  return found;
}

export function newManager(opts: ManagerOptions): CgroupManager {
  const rel = resolveCgroupPath(opts.cgroupsPath, opts.containerId);
  if (opts.version === 1) {
    const root = opts.root ?? DEFAULT_ROOT;
    const hierarchies = v1Hierarchies(root, opts.layout ?? detectLayout());
    if (hierarchies.length === 0) throw new Error(`cgroups: no cgroup v1 controller is mounted below ${root}`);
    return new V1Manager(hierarchies, rel);
  }
  const root = opts.root ?? (opts.layout ?? detectLayout()).v2?.mountPoint ?? DEFAULT_ROOT;
  return new V2Manager(root, rel);
}
