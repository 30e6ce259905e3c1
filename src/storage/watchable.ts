// watchable-bind (Kata's BindWatcher): a ConfigMap/Secret volume reaches the guest over the
// shared filesystem, which has no inotify. The agent copies its source into a tmpfs mounted on
// /run/kata-containers/shared/containers/watchable/ and re-copies what changed every 2 s, so
// programs in the container watching the files with inotify see the update. A volume with more
// than 16 entries or 1 MiB is bound instead (no updates), as in Kata. Scans run on the event
// loop with asynchronous fs calls and never overlap.
import { mkdirSync, rmSync } from "node:fs";
import type { Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { invalid } from "../errors.ts";
import { log } from "../log/logger.ts";
import { isMountPoint, MS, mount } from "../sys/mount.ts";
import type { MountedStorage, StorageDriver, StorageSpec } from "./driver.ts";
import { makeMountPoint, removeMadePath, unmountStorage, type MadePath } from "./mount-storage.ts";
import { WATCHABLE_DIR, checkGuestPath } from "./paths.ts";

const wlog = log.child({ subsystem: "watcher" });

export const MAX_ENTRIES = 16;
export const MAX_BYTES = 1 << 20;
export const WATCH_INTERVAL_MS = 2000;

class TooBig extends Error {}

interface Watched {
  source: string;
  target: string;
  /** false once the volume was too big and got bound instead. */
  watch: boolean;
  /** source path -> mtime (ms) at the last copy */
  seen: Map<string, number>;
}

/** Copies one entry whose lstat the scan took; its parent exists (parents are copied first).
 *  Mode before owner, as before: a chown clears the set-id bits the chmod set, so the order is
 *  part of what the container sees. */
async function copyEntry(from: string, to: string, st: Stats): Promise<void> {
  if (st.isDirectory()) {
    await fsp.mkdir(to, { recursive: true });
    await fsp.chmod(to, st.mode & 0o7777);
  } else if (st.isSymbolicLink()) {
    const [link] = await Promise.all([fsp.readlink(from), fsp.rm(to, { force: true, recursive: true })]);
    await fsp.symlink(link, to);
  } else if (st.isFile()) {
    await fsp.mkdir(dirname(to), { recursive: true });
    await fsp.copyFile(from, to);
    await fsp.chmod(to, st.mode & 0o7777);
  } else {
    return; // devices, fifos, sockets: not part of a ConfigMap
  }
  await fsp.lchown(to, st.uid, st.gid);
}

/**
 * Walks the source without following symlinks, one directory level at a time: every entry of a
 * level is lstat'ed at once and every directory of it listed at once, so the scan takes a few
 * round trips per level instead of one per entry. Kata's limits are checked before a level's
 * calls start, so an oversized volume never starts more than MAX_ENTRIES of them.
 * Returns path -> lstat, parents before children.
 */
async function scanTree(root: string): Promise<Map<string, Stats>> {
  const out = new Map<string, Stats>();
  let bytes = 0;
  let level = [root];
  while (level.length > 0) {
    if (out.size + level.length > MAX_ENTRIES) throw new TooBig(`more than ${MAX_ENTRIES} entries`);
    const stats = await Promise.all(level.map((p) => fsp.lstat(p)));
    const dirs: string[] = [];
    level.forEach((p, i) => {
      const st = stats[i]!;
      out.set(p, st);
      if (st.isDirectory()) dirs.push(p);
      else bytes += st.size;
    });
    if (bytes > MAX_BYTES) throw new TooBig(`more than ${MAX_BYTES} bytes`);
    const listings = await Promise.all(dirs.map((d) => fsp.readdir(d)));
    level = dirs.flatMap((d, i) => listings[i]!.map((name) => join(d, name)));
  }
  return out;
}

/** The tmpfs, the watched volumes of every container, and the 2 s timer. */
export class BindWatcher {
  private readonly byTarget = new Map<string, Watched>();
  private timer: Timer | undefined;
  private tmpfs: MadePath | undefined;
  private scanning: Promise<void> | undefined;

  get size(): number {
    return this.byTarget.size;
  }

  async add(s: StorageSpec, containerId: string | undefined): Promise<MountedStorage> {
    const what = `storage ${s.mountPoint} (driver watchable-bind)`;
    if (!containerId) throw invalid(`${what}: only a container may have watchable storages (CreateContainer storages)`);
    const source = checkGuestPath(`${what} source`, s.source);
    const target = s.mountPoint;
    if (dirname(target) !== WATCHABLE_DIR) throw invalid(`${what}: the mount point must be directly below ${WATCHABLE_DIR}/`);
    const st = await fsp.lstat(source).catch(() => undefined);
    if (!st) throw invalid(`${what}: source ${JSON.stringify(s.source)} does not exist`);
    if (this.byTarget.has(target)) throw invalid(`${what}: already watched`);
    this.ensureTmpfs();
    const w: Watched = { source, target, watch: true, seen: new Map() };
    this.byTarget.set(target, w);
    try {
      if (st.isDirectory()) mkdirSync(target, { recursive: true });
      await this.check(w);
    } catch (e) {
      this.drop(w);
      throw e;
    }
    this.timer ??= setInterval(() => this.tick(), WATCH_INTERVAL_MS);
    wlog.info("watching", { source, target, container: containerId, copied: w.watch });
    return { mountPoint: target, release: () => this.drop(w) };
  }

  private ensureTmpfs(): void {
    if (this.tmpfs) return;
    const made = makeMountPoint(WATCHABLE_DIR, false);
    if (!isMountPoint(WATCHABLE_DIR)) {
      try {
        mount("tmpfs", WATCHABLE_DIR, "tmpfs", MS.NOSUID | MS.NODEV, "mode=755");
      } catch (e) {
        removeMadePath(WATCHABLE_DIR, made);
        throw e;
      }
    }
    this.tmpfs = made;
  }

  private drop(w: Watched): void {
    if (this.byTarget.get(w.target) !== w) return;
    this.byTarget.delete(w.target);
    if (!w.watch) unmountStorage(w.target);
    rmSync(w.target, { recursive: true, force: true });
    if (this.byTarget.size === 0) this.stop();
  }

  /** No volume left: timer stopped, tmpfs unmounted, the directory removed if the agent made it. */
  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.tmpfs) return;
    unmountStorage(WATCHABLE_DIR);
    removeMadePath(WATCHABLE_DIR, this.tmpfs);
    this.tmpfs = undefined;
  }

  private tick(): void {
    if (this.scanning) return; // the previous scan is still running
    this.scanning = (async () => {
      for (const w of [...this.byTarget.values()]) {
        if (!w.watch || this.byTarget.get(w.target) !== w) continue;
        await this.check(w).catch((e) => wlog.warn("watchable scan failed", { source: w.source, error: (e as Error).message }));
      }
    })().finally(() => (this.scanning = undefined));
  }

  /** One scan: removed entries deleted, new or newer entries copied; too big → bind instead. */
  private async check(w: Watched): Promise<void> {
    let now: Map<string, Stats>;
    try {
      now = await scanTree(w.source);
    } catch (e) {
      if (!(e instanceof TooBig)) throw e;
      wlog.warn("watchable volume too big; binding it instead", { source: w.source, reason: e.message });
      await fsp.rm(w.target, { recursive: true, force: true });
      const st = await fsp.stat(w.source);
      makeMountPoint(w.target, !st.isDirectory());
      mount(w.source, w.target, "", MS.BIND);
      w.watch = false;
      return;
    }
    for (const p of w.seen.keys()) {
      if (!now.has(p)) await fsp.rm(this.targetOf(w, p), { recursive: true, force: true });
    }
    // Parents before children: the entries of one depth are copied together, after the depth above.
    const byDepth = new Map<number, [string, Stats][]>();
    for (const [p, st] of now) {
      const old = w.seen.get(p);
      if (old !== undefined && st.mtimeMs <= old) continue;
      const depth = p.split("/").length;
      const same = byDepth.get(depth);
      if (same) same.push([p, st]);
      else byDepth.set(depth, [[p, st]]);
    }
    for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
      // All settled before a failure is reported: a caller that then removes the target must not
      // race copies still writing into it.
      const results = await Promise.allSettled(byDepth.get(depth)!.map(([p, st]) => copyEntry(p, this.targetOf(w, p), st)));
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    w.seen = new Map([...now].map(([p, st]) => [p, st.mtimeMs]));
  }

  private targetOf(w: Watched, p: string): string {
    const rel = relative(w.source, p);
    return rel ? join(w.target, rel) : w.target;
  }
}

/** The driver: asks the sandbox's BindWatcher (StorageContext.watcher) to take the volume. */
export const watchableBindDriver: StorageDriver = {
  names: ["watchable-bind"],
  add: async (s, ctx) => {
    if (!ctx.watcher) throw invalid(`storage ${s.mountPoint} (driver watchable-bind): no bind watcher in this context`);
    return ctx.watcher.add(s, ctx.containerId);
  },
};
