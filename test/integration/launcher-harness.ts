// Shared by the launcher end-to-end suites: a busybox rootfs, plan builders, and the
// per-test clean-up of inits and spawned processes (registered by useLauncherSuite()).
import { afterAll, afterEach, beforeAll } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { abortInit, createInit, LaunchError, startInit, type Created } from "../../src/sys/launcher.ts";
import type { LaunchPlan, MountStep } from "../../src/sys/launch-plan.ts";
import { installReaper, onExit, stopReaper, type ExitStatus } from "../../src/sys/reaper.ts";
import { closeFd, pipe, setNonBlocking } from "../../src/sys/pipe.ts";
import { C, cstr } from "../../src/sys/libc.ts";
import { makeBusyboxRootfs } from "../fixtures/busybox.ts";
import { thrownAs } from "../helpers/thrown.ts";

export const isRoot = process.getuid?.() === 0;
export const MS = { RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, BIND: 4096, REC: 16384, PRIVATE: 1 << 18, STRICTATIME: 1 << 24 };
export const CAP = { CHOWN: 0, KILL: 5, NET_BIND_SERVICE: 10 };
export const capMask = (...caps: number[]) => caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);

export let work = "";
export let rootfs = "";
export const live: Created[] = [];
export const pids: number[] = [];

export function mount(source: string, target: string, fstype: string, flags: number, data = "", extra: Partial<MountStep> = {}): MountStep {
  return { source, target, fstype, flags, data, propagation: 0, remountFlags: 0, targetIsFile: false, ...extra };
}

/** The mounts a typical OCI spec (and Kata's default) gives a container. */
export function standardMounts(): MountStep[] {
  return [
    mount("proc", "/proc", "proc", MS.NOSUID | MS.NOEXEC | MS.NODEV),
    mount("tmpfs", "/dev", "tmpfs", MS.NOSUID | MS.STRICTATIME, "mode=755,size=65536k"),
    mount("devpts", "/dev/pts", "devpts", MS.NOSUID | MS.NOEXEC, "newinstance,ptmxmode=0666,mode=0620"),
    mount("shm", "/dev/shm", "tmpfs", MS.NOSUID | MS.NOEXEC | MS.NODEV, "mode=1777,size=65536k"),
    mount("mqueue", "/dev/mqueue", "mqueue", MS.NOSUID | MS.NOEXEC | MS.NODEV),
    mount("sysfs", "/sys", "sysfs", MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY),
  ];
}

export const DEFAULT_DEVICES = ([["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9], ["tty", 5, 0]] as const)
  .map(([name, major, minor]) => ({ path: `/dev/${name}`, type: "c" as const, major, minor, mode: 0o666, uid: 0, gid: 0 }));

export function containerPlan(over: Partial<LaunchPlan> = {}): LaunchPlan {
  return {
    namespaces: [{ kind: "pid" }, { kind: "mount" }, { kind: "uts" }, { kind: "ipc" }, { kind: "net" }],
    rootfs,
    rootReadonly: false,
    rootPropagation: MS.REC | MS.PRIVATE,
    mounts: standardMounts(),
    devices: DEFAULT_DEVICES,
    symlinks: [["/proc/self/fd", "/dev/fd"], ["/proc/self/fd/0", "/dev/stdin"], ["pts/ptmx", "/dev/ptmx"]],
    maskedPaths: [],
    readonlyPaths: [],
    sysctls: [],
    rlimits: [],
    uid: 0,
    gid: 0,
    additionalGids: [],
    caps: null,
    noNewPrivileges: false,
    terminal: false,
    cwd: "/",
    exe: "/bin/sh",
    args: ["sh", "-c", "true"],
    env: ["PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/root"],
    stdio: [-1, -1, -1],
    cgroupProcsFds: [],
    ...over,
  };
}

export async function readAll(fd: number): Promise<string> {
  setNonBlocking(fd);
  try {
    return await new Response(Bun.file(fd).stream()).text();
  } finally {
    closeFd(fd);
  }
}

/** Devnull for stdin; stdout+stderr into one pipe. Returns the child's fds and the reader. */
export function outputPipe(): { stdio: [number, number, number]; close: () => void; text: () => Promise<string> } {
  const [r, w] = pipe();
  const devnull = C.open(cstr("/dev/null"), 0x80000, 0);
  return { stdio: [devnull, w, w], close: () => { closeFd(w); closeFd(devnull); }, text: () => readAll(r) };
}

export async function runInit(script: string, over: Partial<LaunchPlan> = {}): Promise<{ out: string; status: ExitStatus }> {
  const io = outputPipe();
  let c: Created;
  try {
    c = createInit(containerPlan({ args: ["sh", "-c", script], stdio: io.stdio, ...over }));
  } finally {
    io.close();
  }
  live.push(c);
  const text = io.text();
  await startInit(c);
  const status = await onExit(c.pid);
  return { out: await text, status };
}

export const launchError = (f: () => unknown): LaunchError => thrownAs(LaunchError, f);

/** key=value lines of the workload's report. */
export function parseReport(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

export function children(): number[] {
  const mine = String(process.pid);
  const out: number[] = [];
  for (const e of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] === mine) out.push(Number(e));
    } catch {}
  }
  return out;
}


/** The hooks every launcher suite needs: rootfs and reaper before, kill leftovers after each test. */
export function useLauncherSuite(): void {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kl-launch-"));
    rootfs = await makeBusyboxRootfs(join(work, "rootfs")); // before the reaper: it uses Bun.spawnSync
    installReaper();
  });
  afterEach(async () => {
    for (const c of live.splice(0)) {
      if (c.startFd >= 0) abortInit(c);
      C.kill(c.pid, 9);
    }
    for (const pid of pids.splice(0)) C.kill(pid, 9);
  });
  afterAll(() => {
    stopReaper();
    if (work) rmSync(work, { recursive: true, force: true });
  });
}
