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
    });
  }
  return out;
}
