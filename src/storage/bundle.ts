// Kata's setup_bundle: the container's OCI bundle at /run/kata-containers/<cid>/ — its rootfs
// bound at rootfs/ and the spec written as config.json — so hooks get a real bundle path in the
// OCI state. Only for a rootfs the runtime placed below /run/kata-containers/ (the shared
// filesystem or a storage); a rootfs elsewhere (agent-ctl, tests) is its own bundle directory.
import { mkdirSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exists } from "../errors.ts";
import { isMountPoint, MS, mount } from "../sys/mount.ts";
import { specToOciJson } from "./config-json.ts";
import { unmountStorage } from "./mount-storage.ts";
import { KATA_RUN } from "./paths.ts";

export interface Bundle {
  /** The bundle directory (OCI state "bundle"). */
  path: string;
  /** Where the container's root now is. */
  rootfs: string;
  release(): void;
}

export function needsBundle(rootPath: string): boolean {
  return rootPath.startsWith(`${KATA_RUN}/`);
}

export function setupBundle(cid: string, rootPath: string, spec: object): Bundle {
  const path = join(KATA_RUN, cid);
  const rootfs = join(path, "rootfs");
  let bound = false;
  try {
    if (rootPath !== rootfs) {
      if (isMountPoint(rootfs)) throw exists(`container ${cid}: a bundle rootfs is already mounted at ${rootfs}`);
      mkdirSync(rootfs, { recursive: true, mode: 0o750 });
      mount(rootPath, rootfs, "", MS.BIND | MS.REC);
      bound = true;
    }
    const root = { ...((spec as { Root?: object }).Root ?? {}), Path: rootfs };
    writeFileSync(join(path, "config.json"), JSON.stringify(specToOciJson({ ...spec, Root: root })));
  } catch (e) {
    undo();
    throw e;
  }
  function undo(): void {
    if (bound) unmountStorage(rootfs);
    rmSync(join(path, "config.json"), { force: true });
    // Never recursive: a rootfs still bound here would be emptied through the bind.
    // The directory is the agent's (Kata's CONTAINER_BASE/<cid>); removed when nothing is left in it.
    for (const d of [bound ? rootfs : "", path]) {
      try {
        if (d) rmdirSync(d);
      } catch {
        // not empty (a storage's files) or gone
      }
    }
  }
  return { path, rootfs: rootPath === rootfs ? rootPath : rootfs, release: undo };
}
