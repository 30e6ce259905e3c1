// Init mode: mount the cgroup hierarchy the configuration asks for (Kata's order: after the
// config was read). v2: cgroup2 on /sys/fs/cgroup (nsdelegate). v1: a tmpfs there, then one
// mount per controller listed in /proc/cgroups (cpu and cpuacct share one, as usual).
import { mkdirSync, readFileSync, symlinkSync, existsSync } from "node:fs";
import type { Logger } from "../log/logger.ts";
import { MS, isMountPoint, mount, mountTable } from "../sys/mount.ts";

const ROOT = "/sys/fs/cgroup";
const FLAGS = MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME;

/** Enabled controllers of the kernel, from /proc/cgroups. */
export function kernelControllers(text = readFileSync("/proc/cgroups", "utf8")): string[] {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(/\s+/))
    .filter((f) => f[3] === "1")
    .map((f) => f[0]!);
}

/** Groups controllers into v1 mount points: cpu+cpuacct and net_cls+net_prio share one. */
export function v1MountPoints(controllers: string[]): { dir: string; options: string; links: string[] }[] {
  const set = new Set(controllers);
  const out: { dir: string; options: string; links: string[] }[] = [];
  const pair = (a: string, b: string) => {
    if (set.has(a) && set.has(b)) {
      out.push({ dir: `${a},${b}`, options: `${a},${b}`, links: [a, b] });
      set.delete(a);
      set.delete(b);
    }
  };
  pair("cpu", "cpuacct");
  pair("net_cls", "net_prio");
  for (const c of set) out.push({ dir: c, options: c, links: [] });
  return out;
}

export function mountCgroups(v2: boolean, log: Logger): void {
  const table = mountTable();
  if (isMountPoint(ROOT, table)) {
    log.info("cgroups already mounted", { path: ROOT });
    return;
  }
  mkdirSync(ROOT, { recursive: true });
  if (v2) {
    mount("cgroup2", ROOT, "cgroup2", FLAGS, "nsdelegate");
    log.info("mounted cgroup v2", { path: ROOT });
    return;
  }
  mount("tmpfs", ROOT, "tmpfs", MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755");
  for (const m of v1MountPoints(kernelControllers())) {
    const dir = `${ROOT}/${m.dir}`;
    mkdirSync(dir, { recursive: true });
    try {
      mount("cgroup", dir, "cgroup", FLAGS, m.options);
      for (const l of m.links) if (!existsSync(`${ROOT}/${l}`)) symlinkSync(m.dir, `${ROOT}/${l}`);
    } catch (e) {
      log.warn("cgroup v1 controller not mounted", { controller: m.dir, error: (e as Error).message });
    }
  }
  log.info("mounted cgroup v1 controllers", { path: ROOT });
}
