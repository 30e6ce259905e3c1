// Signals and files opened for child processes: the typed door for kill(2) and open(2) that the
// domain (containers, hooks, the debug console) uses instead of raw libc calls.
import { readFileSync } from "node:fs";
import { C, cstr, errno } from "./libc.ts";
import { SysError } from "./errno.ts";
import { O_CLOEXEC, O_NOCTTY, O_RDWR } from "./consts.ts";

const ESRCH = 3;
const EINVAL = 22;

/** kill(2). Returns false when the process is already gone (ESRCH); throws SysError otherwise,
 *  with kind "invalid" for a signal number the kernel does not know (EINVAL). */
export function sendSignal(pid: number, sig: number): boolean {
  if (C.kill(pid, sig) === 0) return true;
  const e = errno(); // read at once: nothing may run between the call and errno
  if (e === ESRCH) return false;
  throw new SysError(`kill(${pid}, ${sig})`, e, e === EINVAL ? "invalid" : "internal");
}

/** An fd for a child's stdio: read-write, close-on-exec in the agent (the launcher dups it). */
export function openForChild(path: string, o: { noCtty?: boolean } = {}): number {
  const fd = C.open(cstr(path), O_RDWR | O_CLOEXEC | (o.noCtty ? O_NOCTTY : 0), 0);
  if (fd < 0) throw new SysError(`open(${path})`, errno());
  return fd;
}

/** kill(2) whose failure changes nothing for the caller (tearing down what may be gone already). */
export function killQuietly(pid: number, sig: number): void {
  C.kill(pid, sig);
}

/**
 * Whether a pid found in a container's cgroup may be killed when the container goes: never pid 1,
 * the agent itself or one of its ancestors (they could only be there by someone moving them in,
 * and killing them would take the agent or the guest down with the container).
 */
export function mayKillForContainer(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  for (let p = process.pid, hops = 0; p > 1 && hops < 64; hops++) {
    if (p === pid) return false;
    p = parentPid(p);
  }
  return true;
}

function parentPid(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ")" ends it.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) || 0;
  } catch {
    return 0;
  }
}

/** True while `pid` exists and is not a zombie (its namespaces and root are still reachable). */
export function isLiveProcess(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
