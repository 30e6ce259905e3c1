// Mounting a found block device at a storage's mount point (the block half of Kata's
// common_storage_handler): mount point created (and removed again when this fails or on
// release), the request's options parsed like every other mount, propagation applied.
import { mkdirSync, rmdirSync } from "node:fs";
import { invalid } from "../errors.ts";
import { parseMountOptions } from "../container/mount-options.ts";
import { SysError } from "../sys/errno.ts";
import { MNT_DETACH, mount, umount } from "../sys/mount.ts";
import type { MountedStorage, StorageSpec } from "./driver.ts";

export function mountBlock(s: StorageSpec, what: string): MountedStorage {
  if (!s.mountPoint.startsWith("/")) throw invalid(`${what}: mount_point ${JSON.stringify(s.mountPoint)} is not absolute`);
  if (s.fsGroup) throw invalid(`${what}: fs_group is not supported for block storages yet`);
  if (!s.fstype) throw invalid(`${what}: fstype is empty (a block device needs its filesystem type)`);
  const { flags, propagation, data } = parseMountOptions(s.options);
  const made = mkdirSync(s.mountPoint, { recursive: true, mode: 0o750 });
  const removeMade = () => {
    if (!made) return;
    try {
      for (let d = s.mountPoint; d.length >= made.length; d = d.slice(0, d.lastIndexOf("/")) || "/") rmdirSync(d);
    } catch {}
  };
  try {
    mount(s.source, s.mountPoint, s.fstype, flags, data);
  } catch (e) {
    removeMade();
    if (e instanceof SysError && (e.code === "EINVAL" || e.code === "ENODEV")) {
      throw invalid(`${what}: mount ${s.fstype} from ${s.source} failed (${e.code}: wrong fstype ${JSON.stringify(s.fstype)}, options ${JSON.stringify(data)}, or no filesystem on the device)`);
    }
    throw e;
  }
  try {
    if (propagation) mount("", s.mountPoint, "", propagation);
  } catch (e) {
    umount(s.mountPoint, MNT_DETACH);
    removeMade();
    throw e;
  }
  return {
    mountPoint: s.mountPoint,
    release: () => {
      try {
        umount(s.mountPoint);
      } catch (e) {
        if (!(e instanceof SysError && e.code === "EBUSY")) throw e;
        umount(s.mountPoint, MNT_DETACH);
      }
      removeMade();
    },
  };
}
