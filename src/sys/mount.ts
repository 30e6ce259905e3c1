// mount(2)/umount2(2) and mountinfo, for init mode and cleanups. Throws SysError naming the call.
import { readFileSync } from "node:fs";
import { C, check, cstr } from "./libc.ts";
import { parseMountinfo, type MountInfo } from "./mountinfo.ts";
import { markOwnMountTableStale } from "./own-mounts.ts";

export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, REMOUNT: 32, NOATIME: 1024, BIND: 4096, REC: 16384,
  PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20, RELATIME: 1 << 21, STRICTATIME: 1 << 24,
} as const;

export function mount(source: string, target: string, fstype: string, flags: number, data = ""): void {
  const s = cstr(source), t = cstr(target), f = cstr(fstype), d = cstr(data);
  // A propagation change is a mount(2) the kernel's mountinfo poll does not report.
  markOwnMountTableStale();
  check(`mount ${fstype || source} on ${target}`, C.mount(s, t, f, BigInt(flags), data ? d : null));
}

export function umount(target: string, flags = 0): void {
  check(`umount ${target}`, C.umount2(cstr(target), flags));
}

export const MNT_DETACH = 2;

export type { MountInfo } from "./mountinfo.ts";

/** Mount points of the calling process's namespace; empty before /proc is mounted. */
export function mountTable(path = "/proc/self/mountinfo"): MountInfo[] {
  try {
    return parseMountinfo(readFileSync(path, "utf8"));
  } catch {
    return [];
  }
}

export function isMountPoint(path: string, table = mountTable()): boolean {
  return table.some((m) => m.mountPoint === path);
}
