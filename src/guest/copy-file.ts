// CopyFile: the runtime pushes files (resolv.conf, hosts, secrets…) into the guest, possibly in
// chunks. Like Kata, only below /run/kata-containers/shared/containers/: a path that leaves it
// (.., symlinked parents) is refused, so nothing is ever written elsewhere. No branch follows a
// symlink: not the parents, not the target (lchown, O_NOFOLLOW, a link is replaced, never entered). Chunks go to a
// temporary file that is renamed into place once the last byte arrived.
import { closeSync, constants, fchmodSync, fchownSync, lchownSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, writeSync } from "node:fs";
import { normalize } from "node:path";
import { exists, invalid, precondition } from "../errors.ts";

export const COPY_BASE = "/run/kata-containers/shared/containers";

const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFLNK = 0o120000;
const { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;

export interface CopyFileRequest {
  path: string;
  file_size: number;
  file_mode: number;
  dir_mode: number;
  uid: number;
  gid: number;
  offset: number;
  data: Uint8Array;
}

/** The request's path, checked to stay below base: lexically, and every existing component
 *  below base must be a real directory (a symlink, even one made by an earlier CopyFile, is never
 *  followed). */
export function safeTarget(path: string, base = COPY_BASE): string {
  if (!path.startsWith("/")) throw invalid(`CopyFile path ${JSON.stringify(path)} is not absolute`);
  const p = normalize(path);
  if (path.split("/").includes("..") || !p.startsWith(base + "/")) {
    throw invalid(`CopyFile path ${JSON.stringify(path)} is outside ${base}/`);
  }
  mkdirSync(base, { recursive: true, mode: 0o750 });
  for (const dir of parentsBelow(base, p)) {
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st) break;
    if (st.isSymbolicLink()) {
      throw invalid(`CopyFile path ${JSON.stringify(path)} goes through a symlink (${dir}): links are never followed`);
    }
    if (!st.isDirectory()) throw exists(`CopyFile path ${JSON.stringify(path)}: ${dir} exists and is not a directory`);
  }
  return p;
}

/** base/a, base/a/b, … up to the parent of target. */
function parentsBelow(base: string, target: string): string[] {
  const parts = target.slice(base.length + 1).split("/").filter((x) => x !== "");
  const out: string[] = [];
  let at = base;
  for (const part of parts.slice(0, -1)) out.push((at = `${at}/${part}`));
  return out;
}

/** Creates the missing parents one at a time, each checked to be a real directory. */
function makeParents(base: string, target: string, mode: number): void {
  for (const dir of parentsBelow(base, target)) {
    try {
      mkdirSync(dir, { mode });
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e;
    }
    const st = lstatSync(dir);
    if (st.isSymbolicLink() || !st.isDirectory()) {
      throw invalid(`CopyFile path ${JSON.stringify(target)}: ${dir} is not a directory (links are never followed)`);
    }
  }
}

export function copyFile(r: CopyFileRequest, base = COPY_BASE): void {
  const target = safeTarget(r.path, base);
  makeParents(base, target, r.dir_mode & 0o7777 || 0o750);
  const type = r.file_mode & S_IFMT;
  const existing = lstatSync(target, { throwIfNoEntry: false });
  if (type === S_IFDIR) {
    if (existing && (existing.isSymbolicLink() || !existing.isDirectory())) {
      throw exists(`CopyFile ${r.path}: exists and is not a directory${existing.isSymbolicLink() ? " (a symlink, never followed)" : ""}`);
    }
    if (!existing) mkdirSync(target, { mode: r.file_mode & 0o7777 });
    lchownSync(target, r.uid, r.gid);
    return;
  }
  if (existing?.isDirectory()) throw exists(`CopyFile ${r.path}: a directory exists at this path`);
  if (type === S_IFLNK) {
    rmSync(target, { force: true });
    symlinkSync(Buffer.from(r.data).toString(), target);
    return;
  }
  const tmp = `${target}.tmp`;
  if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.file_size) || r.offset < 0 || r.file_size < 0
    || r.offset + r.data.length > r.file_size) {
    throw invalid(`CopyFile ${r.path}: chunk at ${r.offset}+${r.data.length} exceeds file_size ${r.file_size}`);
  }
  const st = lstatSync(tmp, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw exists(`CopyFile ${r.path}: a directory exists at ${tmp}`);
  if (st && !st.isFile()) rmSync(tmp);
  const mode = r.file_mode & 0o7777 || 0o644;
  let fd: number;
  try {
    fd = openSync(tmp, r.offset === 0 ? O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW : O_RDWR | O_NOFOLLOW, mode);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") {
      throw precondition(`CopyFile ${r.path}: chunk at offset ${r.offset} without the chunk at offset 0`);
    }
    throw e;
  }
  try {
    if (r.data.length > 0) writeSync(fd, r.data, 0, r.data.length, r.offset);
    if (r.offset + r.data.length === r.file_size) {
      fchmodSync(fd, mode);
      fchownSync(fd, r.uid, r.gid);
    }
  } finally {
    closeSync(fd);
  }
  if (r.offset + r.data.length === r.file_size) renameSync(tmp, target);
}
