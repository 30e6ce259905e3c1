// mount(2)/umount2(2) and mountinfo, for init mode and cleanups. Throws SysError naming the call.
import { readFileSync } from "node:fs";
import { C, check, cstr } from "./libc.ts";

export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, REMOUNT: 32, NOATIME: 1024, BIND: 4096, REC: 16384,
  PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20, RELATIME: 1 << 21, STRICTATIME: 1 << 24,
} as const;

export function mount(source: string, target: string, fstype: string, flags: number, data = ""): void {
  const s = cstr(source), t = cstr(target), f = cstr(fstype), d = cstr(data);
  check(`mount ${fstype || source} on ${target}`, C.mount(s, t, f, BigInt(flags), data ? d : null));
}

export function umount(target: string, flags = 0): void {
  check(`umount ${target}`, C.umount2(cstr(target), flags));
}

export const MNT_DETACH = 2;

export interface MountInfo {
  mountPoint: string;
  fstype: string;
  source: string;
}

/** Mount points of the calling process's namespace (from /proc/self/mountinfo). */
export function mountTable(path = "/proc/self/mountinfo"): MountInfo[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [pre, post] = line.split(" - ");
    const f = pre!.split(" ");
    const g = (post ?? "").split(" ");
    out.push({ mountPoint: unescape(f[4]!), fstype: g[0] ?? "", source: unescape(g[1] ?? "") });
  }
  return out;
}

export function isMountPoint(path: string, table = mountTable()): boolean {
  return table.some((m) => m.mountPoint === path);
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
