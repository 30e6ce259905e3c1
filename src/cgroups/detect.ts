// Which cgroup hierarchies are mounted, read from /proc/self/mountinfo: cgroup v1 (one mount per
// controller or per co-mounted group such as "cpu,cpuacct"), cgroup v2 (one unified mount), or
// both ("hybrid", systemd's layout: v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified).
import { parseMountinfo } from "../sys/mountinfo.ts";
import { readTextFile } from "../sys/file.ts";

/** The v1 controllers the managers know how to drive (others, e.g. rdma or misc, are left alone). */
export const V1_CONTROLLERS = [
  "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
  "net_cls", "net_prio", "perf_event",
] as const;

export interface CgroupMount {
  mountPoint: string;
  /** The directory of the hierarchy this mount shows (mountinfo field 4; "/" normally). */
  fsRoot: string;
  /** v1: controllers of this hierarchy (and "name=..." for named ones); v2: empty. */
  controllers: string[];
}

export type LayoutKind = "v1" | "v2" | "hybrid" | "none";

export interface CgroupLayout {
  kind: LayoutKind;
  /** v1 hierarchies, one entry per hierarchy (named-only hierarchies such as name=systemd included). */
  v1: CgroupMount[];
  /** The unified (cgroup2) mount, when there is one. */
  v2?: CgroupMount;
}

function isPreferred(mountPoint: string): boolean {
  return mountPoint === "/sys/fs/cgroup" || mountPoint.startsWith("/sys/fs/cgroup/");
}

export function parseCgroupMounts(mountinfo: string): CgroupLayout {
  const v1ByKey = new Map<string, CgroupMount>();
  const v2Mounts: CgroupMount[] = [];
  for (const m of parseMountinfo(mountinfo)) {
    if (m.fstype !== "cgroup" && m.fstype !== "cgroup2") continue;
    const mount: CgroupMount = { mountPoint: m.mountPoint, fsRoot: m.fsRoot, controllers: [] };
    if (m.fstype === "cgroup2") {
      v2Mounts.push(mount);
      continue;
    }
    mount.controllers = m.superOptions.filter((o) => (V1_CONTROLLERS as readonly string[]).includes(o) || o.startsWith("name="));
    if (mount.controllers.length === 0) continue;
    // The same hierarchy can be mounted more than once (bind mounts): keep one, preferring /sys/fs/cgroup.
    const key = [...mount.controllers].sort().join(",");
    const seen = v1ByKey.get(key);
    if (!seen || (!isPreferred(seen.mountPoint) && isPreferred(mount.mountPoint))) v1ByKey.set(key, mount);
  }
  const v2 =
    v2Mounts.find((m) => m.mountPoint === "/sys/fs/cgroup") ??
    v2Mounts.find((m) => isPreferred(m.mountPoint)) ??
    v2Mounts[0];
  const v1 = [...v1ByKey.values()];
  const hasV1Controllers = v1.some((m) => m.controllers.some((c) => !c.startsWith("name=")));
  const kind: LayoutKind = hasV1Controllers ? (v2 ? "hybrid" : "v1") : v2 ? "v2" : "none";
  return { kind, v1, v2 };
}

let cached: CgroupLayout | undefined;

/**
 * The cgroup mounts of the agent's namespace. The agent's own layout is read once and then
 * cached: it is fixed after start-up (init mode mounts cgroups before any container exists), and
 * re-reading mountinfo on every create/remove was a measurable part of a container's lifecycle.
 */
export function detectLayout(mountinfoPath = "/proc/self/mountinfo"): CgroupLayout {
  if (mountinfoPath !== "/proc/self/mountinfo") return parseCgroupMounts(readTextFile(mountinfoPath));
  cached ??= parseCgroupMounts(readTextFile(mountinfoPath));
  return cached;
}

/** Forget the cached layout (after mounting cgroups, and in tests). */
export function resetLayoutCache(): void {
  cached = undefined;
}

/**
 * The manager version to use. What is mounted wins: a pure v2 system gets 2 and a pure v1 system
 * gets 1 whatever the configuration says (the config only decides what init mounts). On a hybrid
 * system the configuration chooses (agent.unified_cgroup_hierarchy / systemd.unified_cgroup_hierarchy);
 * with nothing mounted yet, the configuration is all there is.
 */
export function chooseVersion(configV2: boolean, layout: CgroupLayout = detectLayout()): 1 | 2 {
  switch (layout.kind) {
    case "v2": return 2;
    case "v1": return 1;
    case "hybrid":
    case "none": return configV2 ? 2 : 1;
  }
}
