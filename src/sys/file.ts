// Reading a small file and removing a stale socket with plain libc calls. These are the only file
// operations on the agent's start-up path (the configuration file, the listening socket, later
// /proc/self/mountinfo), and loading node:fs for them cost ~0.75 ms of start-to-ready
// (docs/PERFORMANCE.md). Everything after "ready" uses node:fs as usual.
import { C, check, cstr, ptr, retry } from "./libc.ts";
import { SysError } from "./errno.ts";
import { O_CLOEXEC, O_NOCTTY, O_RDONLY } from "./consts.ts";

const EFBIG = 27;
const CHUNK = 64 * 1024;
/** More than any configuration file or mountinfo this agent reads; a bound, so that a path
 *  naming something endless (/dev/zero) fails instead of growing the agent's memory. */
export const READ_LIMIT = 16 * 1024 * 1024;

/** The whole file as UTF-8 text. Throws SysError (`.code` is the errno name, as node:fs's is). */
export function readTextFile(path: string, limit = READ_LIMIT): string {
  const fd = check(`open(${path})`, C.open(cstr(path), O_RDONLY | O_CLOEXEC | O_NOCTTY, 0));
  try {
    return readTextFd(fd, path, limit);
  } finally {
    C.close(fd);
  }
}

/** Everything left to read from `fd` (blocking) as UTF-8 text; `label` names it in errors. */
export function readTextFd(fd: number, label: string, limit = READ_LIMIT): string {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = new Uint8Array(new ArrayBuffer(CHUNK));
    const n = retry(`read(${label})`, () => C.read(fd, ptr(chunk), CHUNK));
    if (n === 0) break;
    total += n;
    if (total > limit) throw new SysError(`read(${label}): more than ${limit} bytes`, EFBIG);
    chunks.push(n === CHUNK ? chunk : chunk.subarray(0, n));
  }
  const all = chunks.length === 1 ? chunks[0]! : concat(chunks, total);
  return new TextDecoder().decode(all);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_TYPE = 1;
const STATX_MODE_OFFSET = 28; // struct statx: u16 stx_mode, after mask, blksize, attributes, nlink, uid, gid
const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const statxBuf = new Uint8Array(new ArrayBuffer(256));

/** Unlinks `path` if it is a unix socket (a previous agent's); anything else, or nothing, stays. */
export function removeStaleSocket(path: string): void {
  if (C.statx(AT_FDCWD, cstr(path), AT_SYMLINK_NOFOLLOW, STATX_TYPE, ptr(statxBuf)) < 0) return;
  const mode = statxBuf[STATX_MODE_OFFSET]! | (statxBuf[STATX_MODE_OFFSET + 1]! << 8);
  if ((mode & S_IFMT) === S_IFSOCK) C.unlink(cstr(path));
}
