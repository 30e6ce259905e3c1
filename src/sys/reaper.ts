// Reaps every child of the agent: SIGCHLD -> waitpid(-1, WNOHANG) until nothing is left (signals
// coalesce). As PID 1 or child subreaper the agent also inherits orphans (a container's
// double-forked daemons): they are reaped and logged at debug.
//
// WARNING: waitpid(-1) also takes the children of Bun.spawn, whose `exited` then rejects (ECHILD)
// and can crash the process. The agent never uses Bun.spawn; a test that uses Bun.spawn must not
// run the reaper in the same process (call stopReaper() in afterAll of tests that install it).
import { C, errno, ptr } from "./libc.ts";
import { log as rootLog, type Logger } from "../log/logger.ts";

export interface ExitStatus {
  /** Exit code, when the process exited. */
  code?: number;
  /** Terminating signal, when it was killed. */
  signal?: number;
  /** The raw wait status. */
  status: number;
}

const WNOHANG = 1;
const WALL = 0x40000000;
const PR_SET_CHILD_SUBREAPER = 36;
const ECHILD = 10;
const EINTR = 4;
/** Statuses of processes nobody tracked or waited for, kept in case someone asks late. */
const ORPHAN_MEMORY = 256;

/** Decodes a wait(2) status. Stopped/continued states never reach us (no WUNTRACED). */
export function decodeStatus(status: number): ExitStatus {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, status };
  return { signal: sig, status };
}

/** Shell convention (and Kata's WaitProcess): the exit code, or 128 + signal. */
export function exitCode(st: ExitStatus): number {
  return st.code ?? 128 + (st.signal ?? 0);
}

interface Waiter {
  promise: Promise<ExitStatus>;
  resolve: (st: ExitStatus) => void;
}

const waiters = new Map<number, Waiter>();
/** Pids the launcher created and that have not exited yet. */
const tracked = new Set<number>();
/** Exit statuses of tracked pids that arrived before anyone called onExit. */
const unclaimed = new Map<number, ExitStatus>();
const orphans = new Map<number, ExitStatus>();
const statusBuf = new Int32Array(new ArrayBuffer(4));

let installed = false;
let log: Logger = rootLog.child({ subsystem: "reaper" });
let safetyTimer: Timer | undefined;

/** Tells the reaper that `pid` is ours (the launcher calls this for every process it creates):
 *  its status is kept until claimed with onExit. A status left from an earlier process with the
 *  same pid is stale by definition (the pid is alive again) and is dropped. */
export function track(pid: number): void {
  tracked.add(pid);
  unclaimed.delete(pid);
  orphans.delete(pid);
}

/** Resolves when `pid` has been reaped (also when that happened before this call). */
export function onExit(pid: number): Promise<ExitStatus> {
  const early = unclaimed.get(pid) ?? orphans.get(pid);
  if (early) {
    unclaimed.delete(pid);
    orphans.delete(pid);
    return Promise.resolve(early);
  }
  let w = waiters.get(pid);
  if (!w) {
    let resolve!: (st: ExitStatus) => void;
    const promise = new Promise<ExitStatus>((r) => (resolve = r));
    w = { promise, resolve };
    waiters.set(pid, w);
  }
  if (installed) queueMicrotask(reapNow); // it may have exited before our SIGCHLD handler ran
  return w.promise;
}

function deliver(pid: number, st: ExitStatus): void {
  const w = waiters.get(pid);
  const ours = tracked.delete(pid);
  if (w) {
    waiters.delete(pid);
    w.resolve(st);
  } else if (ours) {
    unclaimed.set(pid, st);
  } else {
    log.debug("reaped orphan", { orphan_pid: pid, exit_code: st.code, signal: st.signal });
    orphans.set(pid, st);
    if (orphans.size > ORPHAN_MEMORY) orphans.delete(orphans.keys().next().value!);
  }
}

/** Reaps every exited child now; returns how many. */
export function reapNow(): number {
  let n = 0;
  for (;;) {
    const pid = C.waitpid(-1, ptr(statusBuf), WNOHANG | WALL);
    if (pid > 0) {
      n++;
      deliver(pid, decodeStatus(statusBuf[0]!));
      continue;
    }
    if (pid < 0) {
      const e = errno();
      if (e === EINTR) continue;
      if (e !== ECHILD) log.warn("waitpid failed", { errno: e });
    }
    return n;
  }
}

const onSigchld = () => {
  reapNow();
};

/** Becomes child subreaper and reaps on SIGCHLD. Idempotent. */
export function installReaper(logger?: Logger): void {
  if (logger) log = logger;
  if (installed) return;
  installed = true;
  if (C.prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) < 0) log.warn("cannot become child subreaper", { errno: errno() });
  process.on("SIGCHLD", onSigchld);
  // Safety net only: SIGCHLD delivery has not been seen to fail, but a lost wake-up would leave a
  // WaitProcess hanging forever. Unref'd, so it never keeps the process alive.
  safetyTimer = setInterval(reapNow, 1000);
  safetyTimer.unref();
  reapNow();
}

/** Undoes installReaper (for tests that share the process with Bun.spawn users). */
export function stopReaper(): void {
  if (!installed) return;
  installed = false;
  process.off("SIGCHLD", onSigchld);
  if (safetyTimer) clearInterval(safetyTimer);
  safetyTimer = undefined;
  C.prctl(PR_SET_CHILD_SUBREAPER, 0n, 0n, 0n, 0n);
}

export function reaperInstalled(): boolean {
  return installed;
}
