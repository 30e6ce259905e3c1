// Looking at a container's filesystem from the agent, before (or without) entering its mount
// namespace: paths are resolved like the kernel would inside the container, so symlinks with
// absolute targets start again at the container's root and `..` never climbs above it.
//
// The view can include the spec's mounts, in order: a bind mount maps a container directory to a
// host path (so /etc/passwd or an executable on a volume are found where the container will see
// them); any other mount (tmpfs, proc, ...) hides what the rootfs has below it, so nothing is
// found there (what such a filesystem will contain is unknown until it is mounted).
//
// This is for planning and lookups; it races with changes to the rootfs like any path walk, and
// the launcher still does the real work inside the container.
import { lstatSync, readlinkSync, statSync, type Stats } from "node:fs";

/** Linux's limit on symlinks followed while resolving one path. */
const MAX_SYMLINKS = 40;

export interface ViewMount {
  /** Absolute, normalised path inside the container. */
  dest: string;
  /** Host path for bind mounts; undefined for other filesystems (contents unknown). */
  hostSource?: string;
}

export class SymlinkLoopError extends Error {
  /** A symlink loop comes from the image or the request, not from the agent. */
  readonly kind = "invalid" as const;
  constructor(readonly path: string) {
    super(`too many levels of symbolic links resolving ${path}`);
    this.name = "SymlinkLoopError";
  }
}

function components(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/** Lexically normalised absolute container path ("a/../b" -> "/b"; never above "/"). */
export function cleanContainerPath(p: string): string {
  const out: string[] = [];
  for (const c of components(p)) {
    if (c === "..") out.pop();
    else out.push(c);
  }
  return "/" + out.join("/");
}

/** "/a/b" -> "/a", "/a" -> "/". */
function parentOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

export class RootView {
  /** Mounts by destination, each with the order it was added in (a later one at the same
   *  destination replaces the entry). A lookup walks the path's ancestors: O(depth), not
   *  O(mounts), so a spec with thousands of mounts plans in linear time. */
  private readonly byDest = new Map<string, { order: number; hostSource?: string }>();
  private added = 0;

  /** `root` is the host path of the container's root filesystem. */
  constructor(readonly root: string, mounts: readonly ViewMount[] = []) {
    for (const m of mounts) this.addMount(m);
  }

  /** Later mounts shadow earlier ones at or below the same destination. */
  addMount(m: ViewMount): void {
    this.byDest.set(cleanContainerPath(m.dest), { order: this.added++, hostSource: m.hostSource });
  }

  /**
   * Host path of an already-resolved, clean container path, or undefined when it lies on a
   * filesystem whose contents are unknown (a non-bind mount).
   */
  hostPath(containerPath: string): string | undefined {
    const p = cleanContainerPath(containerPath);
    // The latest mount whose destination is p or one of its ancestors decides.
    let best: { dest: string; order: number; hostSource?: string } | undefined;
    if (this.byDest.size > 0) {
      for (let dir = p; ; dir = parentOf(dir)) {
        const m = this.byDest.get(dir);
        if (m && (!best || m.order > best.order)) best = { dest: dir, ...m };
        if (dir === "/") break;
      }
    }
    if (best) {
      if (best.hostSource === undefined) return undefined;
      const rest = p.slice(best.dest === "/" ? 0 : best.dest.length);
      return best.hostSource.replace(/\/+$/, "") + (rest === "" ? "" : rest);
    }
    return this.root.replace(/\/+$/, "") + (p === "/" ? "" : p);
  }

  /**
   * Resolves every symlink in `path` (relative paths start at `cwd`) and returns the clean
   * container path it leads to. Components that do not exist are kept as written. With
   * `followFinal: false` a symlink in the last component is left alone (like lstat).
   */
  resolve(path: string, opts: { cwd?: string; followFinal?: boolean } = {}): string {
    return this.walk(path, opts).path;
  }

  /** resolve(), plus the lstat of the final component when the walk's last step was that lstat
   *  (a non-symlink that exists), so stat() does not repeat it. */
  private walk(path: string, opts: { cwd?: string; followFinal?: boolean }): { path: string; final?: Stats } {
    const start = path.startsWith("/") ? path : `${opts.cwd ?? "/"}/${path}`;
    const followFinal = opts.followFinal ?? true;
    const pending = components(start);
    const done: string[] = [];
    let links = 0;
    let final: Stats | undefined;
    while (pending.length > 0) {
      final = undefined;
      const c = pending.shift()!;
      if (c === "..") {
        done.pop();
        continue;
      }
      done.push(c);
      if (pending.length === 0 && !followFinal) break;
      const host = this.hostPath("/" + done.join("/"));
      if (host === undefined) continue;
      let st: Stats;
      try {
        st = lstatSync(host);
      } catch {
        continue; // missing: keep the name, the rest is resolved lexically
      }
      if (!st.isSymbolicLink()) {
        if (pending.length === 0) final = st;
        continue;
      }
      if (++links > MAX_SYMLINKS) throw new SymlinkLoopError(path);
      const target = readlinkSync(host, "utf8");
      done.pop();
      if (target.startsWith("/")) done.length = 0;
      pending.unshift(...components(target));
    }
    return { path: "/" + done.join("/"), final };
  }

  /** stat() of a container path, following symlinks inside the view; undefined when absent. */
  stat(path: string, opts: { cwd?: string } = {}): { path: string; stats: Stats } | undefined {
    const { path: resolved, final } = this.walk(path, opts);
    const host = this.hostPath(resolved);
    if (host === undefined) return undefined;
    if (final) return { path: resolved, stats: final };
    try {
      // lstat: the resolved path has no symlink left unless the walk stopped on a missing part.
      const stats = lstatSync(host);
      if (stats.isSymbolicLink()) return undefined;
      return { path: resolved, stats };
    } catch {
      return undefined;
    }
  }
}

/** stat() that returns undefined instead of throwing. */
export function statOrUndefined(hostPath: string): Stats | undefined {
  try {
    return statSync(hostPath);
  } catch {
    return undefined;
  }
}
