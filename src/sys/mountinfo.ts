// /proc/PID/mountinfo, parsed once here for every user (init mode's "already mounted?" checks,
// cgroup detection). Pure text handling: no FFI.

export interface MountInfo {
  /** Field 4: the directory of the filesystem this mount shows ("/" normally). */
  fsRoot: string;
  mountPoint: string;
  fstype: string;
  source: string;
  /** Per-superblock options, e.g. "rw,memory" for a cgroup v1 hierarchy. */
  superOptions: string[];
  /** Optional fields: propagation ("shared:N", "master:N", "propagate_from:N", "unbindable"). */
  optional: string[];
}

/** The mount that `path` (absolute, symlinks resolved) lives on: the longest mount point that is
 *  the path or one of its ancestors. */
export function mountContaining(mounts: readonly MountInfo[], path: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const under = mp === "/" || path === mp || path.startsWith(mp + "/");
    if (under && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const post = line.slice(sep + 3).split(" ");
    if (pre.length < 5) continue;
    out.push({
      fsRoot: unescape(pre[3]!),
      mountPoint: unescape(pre[4]!),
      fstype: post[0] ?? "",
      source: unescape(post[1] ?? ""),
      superOptions: (post[2] ?? "").split(","),
      optional: pre.slice(6).filter((f) => f !== ""),
    });
  }
  return out;
}
