// Drivers that mount a filesystem the way it is described (Kata's VirtioFsHandler and
// OverlayfsHandler, and the older 9p and bind handlers): all go through mountGeneric.
import { existsSync, mkdirSync, rmSync, rmdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { invalid } from "../errors.ts";
import type { StorageDriver, StorageSpec } from "./driver.ts";
import { mountGeneric } from "./mount-storage.ts";
import { KATA_RUN, checkGuestPath } from "./paths.ts";

/** virtio-fs: the shared filesystem (source "kataShared", fstype virtiofs). */
export const virtioFsDriver: StorageDriver = {
  names: ["virtio-fs"],
  add: async (s) => mountGeneric(s),
};

/** 9p: the older shared filesystem (fstype 9p, options such as trans=virtio,version=9p2000.L). */
export const ninePDriver: StorageDriver = {
  names: ["9p"],
  add: async (s) => mountGeneric(s),
};

/** bind: a guest path bound elsewhere; the source must stay below /run/kata-containers/. */
export const bindDriver: StorageDriver = {
  names: ["bind"],
  add: async (s) => {
    const source = checkGuestPath(`storage ${s.mountPoint} (driver bind) source`, s.source);
    return mountGeneric({ ...s, source }, { fstype: "bind", options: ["bind", ...s.options] });
  },
};

const OVERLAY_RW = "io.katacontainers.fs-opt.overlay-rw";
const OVERLAY_CREATE_DIR = "io.katacontainers.volume.overlayfs.create_directory=";

/**
 * overlayfs: lowerdir/upperdir/workdir in the options. With the overlay-rw option the agent makes
 * a per-container upper and work dir below /run/kata-containers/<cid>/; driver options may ask for
 * directories to exist first (Kata's create_directory).
 */
export const overlayDriver: StorageDriver = {
  names: ["overlayfs"],
  add: async (s: StorageSpec, ctx) => {
    const options = [...s.options];
    const made: string[] = [];
    if (options.includes(OVERLAY_RW)) {
      if (!ctx.containerId) throw invalid(`storage ${s.mountPoint} (driver overlayfs): ${OVERLAY_RW} needs a container (CreateContainer storages)`);
      const base = join(KATA_RUN, ctx.containerId);
      const upper = join(base, "upper"), work = join(base, "work");
      for (const d of [upper, work]) if (!existsSync(d)) (mkdirSync(d, { recursive: true }), made.push(d));
      options.splice(options.indexOf(OVERLAY_RW), 1);
      options.push(`upperdir=${upper}`, `workdir=${work}`);
    }
    const removeMade = () => {
      made.forEach((d) => rmSync(d, { recursive: true, force: true }));
      // /run/kata-containers/<cid> itself is shared with the bundle: removed only when empty.
      if (made.length) rmdirQuietly(dirname(made[0]!));
    };
    let m;
    try {
      for (const d of s.driverOptions) {
        if (!d.startsWith(OVERLAY_CREATE_DIR)) continue;
        const dir = checkGuestPath(`storage ${s.mountPoint} (driver overlayfs) driver option`, d.slice(OVERLAY_CREATE_DIR.length));
        mkdirSync(dir, { recursive: true });
      }
      m = mountGeneric(s, { fstype: "overlay", options });
    } catch (e) {
      removeMade();
      throw e;
    }
    // The rw layer is the container's: it goes with the overlay.
    return { mountPoint: m.mountPoint, release: async () => (await m.release(), removeMade()) };
  },
};

function rmdirQuietly(d: string): void {
  try {
    rmdirSync(d);
  } catch {
    // not empty (the bundle) or gone
  }
}
