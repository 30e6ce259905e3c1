// The guest paths the Kata protocol defines, and the checks every storage path passes before the
// agent creates, mounts or writes anything there: absolute, no "..", below /run/kata-containers/
// (also after following the symlinks that already exist on the way).
import { existsSync, realpathSync } from "node:fs";
import { dirname, normalize } from "node:path";
import { invalid } from "../errors.ts";

export const KATA_RUN = "/run/kata-containers";
/** The virtio-fs (or 9p) share: container rootfs and the files the runtime shares. */
export const SHARED_DIR = `${KATA_RUN}/shared/containers`;
export const SANDBOX_DIR = `${KATA_RUN}/sandbox`;
/** Where the runtime puts watchable-bind targets; the agent mounts a tmpfs here. */
export const WATCHABLE_DIR = `${SHARED_DIR}/watchable`;
/** The source of the shared-fs storage when the share is mounted before the agent starts. */
export const KATA_SHARED_TAG = "kataShared";

function under(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

/** The real path of `p`'s deepest existing ancestor (p itself when it exists). */
function realExisting(p: string): string {
  let cur = p;
  while (!existsSync(cur)) {
    const up = dirname(cur);
    if (up === cur) return cur;
    cur = up;
  }
  return realpathSync(cur);
}

/**
 * Checks a guest path a request names (field = where it came from, for the message) and returns
 * it normalised: absolute, without "..", below `root` both as written and after the symlinks
 * that exist on the way are followed.
 */
export function checkGuestPath(field: string, path: string, root = KATA_RUN): string {
  if (!path) throw invalid(`${field} is empty`);
  if (!path.startsWith("/")) throw invalid(`${field} ${JSON.stringify(path)} is not an absolute path`);
  if (path.split("/").includes("..")) throw invalid(`${field} ${JSON.stringify(path)} contains ".."`);
  const norm = normalize(path).replace(/\/+$/, "") || "/";
  if (!under(norm, root)) throw invalid(`${field} ${JSON.stringify(path)} is outside ${root}/`);
  const realRoot = existsSync(root) ? realpathSync(root) : root;
  const real = realExisting(norm);
  if (!under(real, realRoot) && !under(realRoot, real)) {
    throw invalid(`${field} ${JSON.stringify(path)} leads outside ${root}/ through a symlink (to ${real})`);
  }
  return norm;
}
