// The agent's own mount table, kept parsed between calls. CreateContainer asks where each rootfs
// lives, and reading and parsing /proc/self/mountinfo every time was ~4 % of a container
// lifecycle's agent time. The kernel says when the table changed: poll(2) on an open mountinfo
// reports POLLPRI|POLLERR once the namespace's mount event counter differs from the one this
// open file last saw (set at open, updated by the poll that reports it). A propagation change
// (MS_SHARED, MS_PRIVATE, ...) does not move that counter, so the agent's own mount(2) calls mark
// the table stale too (src/sys/mount.ts).
import { C, check, cstr } from "./libc.ts";
import { readTextFd } from "./file.ts";
import { parseMountinfo, type MountInfo } from "./mountinfo.ts";
import { O_CLOEXEC, O_RDONLY } from "./consts.ts";
import { POLLERR, POLLPRI, pollNow } from "./poll.ts";

const PATH = "/proc/self/mountinfo";

let fd = -1;
let table: readonly MountInfo[] = [];
let stale = false;

function changedSinceRead(): boolean {
  return (pollNow(fd, POLLPRI) & (POLLPRI | POLLERR)) !== 0;
}

/** The calling process's mounts, re-read only when the kernel reports a change; empty when
 *  /proc is not mounted (init mode before it is), and then not cached. Do not modify. */
export function ownMountTable(): readonly MountInfo[] {
  if (fd >= 0 && !stale && !changedSinceRead()) return table;
  stale = false;
  if (fd >= 0) C.close(fd);
  fd = -1;
  table = [];
  const f = C.open(cstr(PATH), O_RDONLY | O_CLOEXEC, 0);
  if (f < 0) return table;
  try {
    // A change after this open and before the read shows in the next poll: one read too many,
    // never a stale table.
    table = parseMountinfo(readTextFd(f, PATH));
    fd = f;
  } catch {
    C.close(f);
  }
  return table;
}

/** The next ownMountTable() reads the file again. */
export function markOwnMountTableStale(): void {
  stale = true;
}

/** Closes the cached file (tests). */
export function forgetOwnMountTable(): void {
  if (fd >= 0) check("close(mountinfo)", C.close(fd));
  fd = -1;
  table = [];
}
