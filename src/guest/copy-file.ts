// CopyFile: the runtime pushes files (resolv.conf, hosts, secrets…) into the guest, possibly in
// chunks. Like Kata, only below /run/kata-containers/shared/containers/: a path that leaves it
// (.., symlinked parents) is refused, so nothing is ever written elsewhere. Chunks go to a
// temporary file that is renamed into place once the last byte arrived.
import { chownSync, chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, rmSync, symlinkSync, writeSync } from "node:fs";
import { dirname, normalize } from "node:path";
import { invalid } from "../errors.ts";

export const COPY_BASE = "/run/kata-containers/shared/containers";

const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFLNK = 0o120000;

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

/** The request's path, checked to stay below base (also through existing symlinks). */
export function safeTarget(path: string, base = COPY_BASE): string {
  if (!path.startsWith("/")) throw invalid(`CopyFile path ${JSON.stringify(path)} is not absolute`);
  const p = normalize(path);
  if (path.split("/").includes("..") || !p.startsWith(base + "/")) {
    throw invalid(`CopyFile path ${JSON.stringify(path)} is outside ${base}/`);
  }
  mkdirSync(base, { recursive: true, mode: 0o750 });
  const realBase = realpathSync(base);
  // The deepest existing ancestor must really be inside base: a symlinked directory on the
  // way could otherwise lead the write anywhere.
  let anc = dirname(p);
  while (!existsSync(anc)) anc = dirname(anc);
  const real = realpathSync(anc);
  if (real !== realBase && !real.startsWith(realBase + "/")) {
    throw invalid(`CopyFile path ${JSON.stringify(path)} leads outside ${base}/ through a symlink`);
  }
  return p;
}

export function copyFile(r: CopyFileRequest, base = COPY_BASE): void {
  const target = safeTarget(r.path, base);
  const dirMode = r.dir_mode & 0o7777 || 0o750;
  mkdirSync(dirname(target), { recursive: true, mode: dirMode });
  const type = r.file_mode & S_IFMT;
  if (type === S_IFDIR) {
    mkdirSync(target, { recursive: true, mode: r.file_mode & 0o7777 });
    chownSync(target, r.uid, r.gid);
    return;
  }
  if (type === S_IFLNK) {
    rmSync(target, { force: true });
    symlinkSync(Buffer.from(r.data).toString(), target);
    return;
  }
  const tmp = `${target}.tmp`;
  if (r.offset < 0 || r.file_size < 0 || r.offset + r.data.length > r.file_size) {
    throw invalid(`CopyFile ${r.path}: chunk at ${r.offset}+${r.data.length} exceeds file_size ${r.file_size}`);
  }
  const st = lstatSync(tmp, { throwIfNoEntry: false });
  if (st?.isSymbolicLink()) rmSync(tmp);
  const fd = openSync(tmp, r.offset === 0 ? "w" : "r+", r.file_mode & 0o7777 || 0o644);
  try {
    if (r.data.length > 0) writeSync(fd, r.data, 0, r.data.length, r.offset);
  } finally {
    closeSync(fd);
  }
  if (r.offset + r.data.length === r.file_size) {
    chmodSync(tmp, r.file_mode & 0o7777 || 0o644);
    chownSync(tmp, r.uid, r.gid);
    renameSync(tmp, target);
  }
}
