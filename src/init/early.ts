// PID 1, before the configuration is read (Kata's order): the basic filesystems. Anything already
// mounted (e.g. by a pre-init script) is left alone; a failure is logged, never fatal here —
// the agent can still serve and report what is wrong.
import { mkdirSync } from "node:fs";
import type { Logger } from "../log/logger.ts";
import { MS, mount, mountTable } from "../sys/mount.ts";

export interface EarlyMount {
  source: string;
  target: string;
  fstype: string;
  flags: number;
  data?: string;
}

const EARLY: EarlyMount[] = [
  { source: "proc", target: "/proc", fstype: "proc", flags: MS.NOSUID | MS.NODEV | MS.NOEXEC },
  { source: "sysfs", target: "/sys", fstype: "sysfs", flags: MS.NOSUID | MS.NODEV | MS.NOEXEC },
  { source: "dev", target: "/dev", fstype: "devtmpfs", flags: MS.NOSUID, data: "mode=0755" },
  { source: "tmpfs", target: "/dev/shm", fstype: "tmpfs", flags: MS.NOSUID | MS.NODEV, data: "mode=1777" },
  { source: "devpts", target: "/dev/pts", fstype: "devpts", flags: MS.NOSUID | MS.NOEXEC, data: "gid=5,mode=0620,ptmxmode=0666,newinstance" },
  { source: "tmpfs", target: "/run", fstype: "tmpfs", flags: MS.NOSUID | MS.NODEV, data: "mode=0755" },
];

/** What earlyInit does to the system; tests pass fakes. */
export interface EarlyOps {
  /** Mount points of this namespace; empty before /proc is mounted. */
  mountPoints(): Set<string>;
  mkdir(path: string): void;
  mount(m: EarlyMount): void;
}

const systemOps: EarlyOps = {
  mountPoints: () => new Set(mountTable().map((m) => m.mountPoint)),
  mkdir: (path) => mkdirSync(path, { recursive: true }),
  mount: (m) => mount(m.source, m.target, m.fstype, m.flags, m.data),
};

export function earlyInit(log: Logger, ops: EarlyOps = systemOps): void {
  // mountinfo is read once (re-reading it per mount was ~5–8 ms of a TCG guest's start), and again
  // right after this loop mounts /proc if it could not be read before. A filesystem mounted here
  // hides whatever was mounted below its target, so those entries stop counting.
  let mounted = ops.mountPoints();
  for (const m of EARLY) {
    if (mounted.has(m.target)) continue;
    try {
      ops.mkdir(m.target);
      ops.mount(m);
      if (m.target === "/proc" && mounted.size === 0) mounted = ops.mountPoints();
      for (const p of mounted) if (p.startsWith(`${m.target}/`)) mounted.delete(p);
      mounted.add(m.target);
    } catch (e) {
      log.error("early mount failed", { target: m.target, error: (e as Error).message });
    }
  }
  process.env.PATH ??= "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  if (!process.env.PATH.includes("/sbin")) process.env.PATH = `${process.env.PATH}:/usr/sbin:/sbin`;
}
