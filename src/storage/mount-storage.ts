// The generic storage mount (Kata's common_storage_handler): create the mount point, mount the
// source with the parsed options, apply propagation, then fs_group ownership. Whatever was made
// is undone when a step fails, and again by release(): unmount, then remove the directories
// (or the file) this mount created. Nothing outside the checked mount point is touched.
import { closeSync, existsSync, mkdirSync, openSync, rmdirSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { invalid } from "../errors.ts";
import { log } from "../log/logger.ts";
import { SysError } from "../sys/errno.ts";
import { MNT_DETACH, MS, isMountPoint, mount, umount } from "../sys/mount.ts";
import type { MountedStorage, StorageSpec } from "./driver.ts";
import { parseStorageOptions } from "./options.ts";
import { setOwnership } from "./ownership.ts";
import { KATA_SHARED_TAG } from "./paths.ts";

const slog = log.child({ subsystem: "storage" });

/** What a mount point's creation made, so release removes exactly that. */
export interface MadePath {
  /** The topmost directory created (mkdir -p's first), or undefined when all existed. */
  topDir?: string;
  /** A file created as a bind target. */
  file?: string;
}

/** Creates `target` (a directory, or an empty file when `asFile`) and its missing parents. */
export function makeMountPoint(target: string, asFile: boolean): MadePath {
  const made: MadePath = {};
  if (asFile) {
    made.topDir = mkdirSync(dirname(target), { recursive: true, mode: 0o750 }) ?? undefined;
    if (!existsSync(target)) {
      closeSync(openSync(target, "w", 0o640));
      made.file = target;
    }
  } else {
    made.topDir = mkdirSync(target, { recursive: true, mode: 0o750 }) ?? undefined;
  }
  return made;
}

/** Removes what makeMountPoint made, bottom-up, stopping at a directory that is not empty. */
export function removeMadePath(target: string, made: MadePath): void {
  try {
    if (made.file) unlinkSync(made.file);
    if (!made.topDir) return;
    for (let d = made.file ? dirname(target) : target; ; d = dirname(d)) {
      rmdirSync(d);
      if (d === made.topDir || d === "/") break;
    }
  } catch {
    // not empty (someone else's content) or already gone: leave it
  }
}

/** Unmounts `target`; a busy mount is detached lazily so nothing stays mounted. */
export function unmountStorage(target: string): void {
  try {
    umount(target);
  } catch (e) {
    if (e instanceof SysError && e.code === "EBUSY") {
      slog.warn("storage busy on release; detaching it", { mount_point: target });
      umount(target, MNT_DETACH);
    } else if (!(e instanceof SysError && (e.code === "EINVAL" || e.code === "ENOENT"))) {
      throw e;
    }
  }
}

/** A mount(2) failure as a status: a request the kernel refuses is the caller's error. */
export function mountError(s: StorageSpec, fstype: string, data: string, e: unknown): Error {
  if (e instanceof SysError) {
    const what = `storage ${s.mountPoint} (driver ${s.driver}): mount ${fstype || "bind"} from ${JSON.stringify(s.source)}`;
    if (e.code === "EINVAL") return invalid(`${what} failed: the kernel refused it (options ${JSON.stringify(data)}: EINVAL)`);
    if (e.code === "ENODEV") return invalid(`${what} failed: filesystem type ${JSON.stringify(fstype)} is not known to the guest kernel`);
    if (e.code === "ENOENT" || e.code === "ENOTDIR") return invalid(`${what} failed: the source does not exist (${e.code})`);
    return new SysError(`${what}`, e.errno);
  }
  return e as Error;
}

export interface GenericMountOptions {
  /** Overrides of the request's fstype/options (overlay-rw, ephemeral's fsgid stripping). */
  fstype?: string;
  options?: readonly string[];
}

/**
 * Kata's mount_storage + set_ownership. The "kataShared" rule: when the share is already
 * mounted at the mount point (mounted before the agent started), it is used as it is and
 * release leaves it mounted.
 */
export function mountGeneric(s: StorageSpec, o: GenericMountOptions = {}): MountedStorage {
  const field = `storage ${s.mountPoint} (driver ${s.driver})`;
  if (s.source === KATA_SHARED_TAG && isMountPoint(s.mountPoint)) {
    slog.warn("kataShared is already mounted; using it", { mount_point: s.mountPoint });
    return { mountPoint: s.mountPoint, release: () => {} };
  }
  const fstype = o.fstype ?? s.fstype;
  const { flags, propagation, data } = parseStorageOptions(field, o.options ?? s.options);
  const asFile = fstype === "bind" && existsSync(s.source) && !statSync(s.source).isDirectory();
  const made = makeMountPoint(s.mountPoint, asFile);
  let mounted = false;
  try {
    try {
      // fstype "bind" is not a filesystem: it means MS_BIND whether or not the options say so.
      mount(s.source, s.mountPoint, fstype === "bind" ? "" : fstype, fstype === "bind" ? flags | MS.BIND : flags, data);
    } catch (e) {
      throw mountError(s, fstype, data, e);
    }
    mounted = true;
    if (propagation) mount("", s.mountPoint, "", propagation);
    if (s.fsGroup) setOwnership(s.mountPoint, s.fsGroup, (o.options ?? s.options).includes("ro"));
  } catch (e) {
    if (mounted) unmountStorage(s.mountPoint);
    removeMadePath(s.mountPoint, made);
    throw e;
  }
  slog.info("storage mounted", { mount_point: s.mountPoint, driver: s.driver, fstype, source: s.source, data });
  return {
    mountPoint: s.mountPoint,
    release: () => {
      unmountStorage(s.mountPoint);
      removeMadePath(s.mountPoint, made);
    },
  };
}
