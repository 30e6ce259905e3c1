// OnlineCPUMem and MemHotplugByProbe: bring hot-plugged CPUs and memory blocks online, then
// widen the cpusets of the container cgroups to the new CPUs. The rules are Kata's
// (src/agent/src/sandbox.rs online_cpu_memory, online_resources, online_cpus; rustjail's
// update_cpuset_path):
//   - CPUs: nothing to do when /sys/devices/system/cpu/online already lists nb_cpus CPUs; else
//     write "1" to the `online` file of up to (nb_cpus - online) offline cpuN, re-read the online
//     list, and retry every 50 ms, 100 times (5 s), before failing. The sleeps are asynchronous:
//     the agent keeps serving other calls meanwhile. The `online` writes are asynchronous too: the
//     kernel brings a CPU or a memory block up inside the write (1.3 s for a CPU under TCG).
//   - memory: every memoryN whose `online` file reads 0 gets "1" (unless cpu_only).
//   - cpusets: only when CPUs were asked for (nb_cpus > 0), for every container whose spec has a
//     Resources.CPU section: each cgroup level from below the hierarchy root down to the
//     container gets the guest's online CPU list, then the container gets its own Cpus (if set).
// The sysfs root is a parameter so tests can run on a fake tree.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { AgentError, invalid } from "../errors.ts";

/** Kata's ONLINE_CPUMEM_MAX_RETRIES × ONLINE_CPUMEM_WAIT_MILLIS. */
export const CPU_ONLINE_RETRIES = 100;
export const CPU_ONLINE_WAIT_MS = 50;

export interface HotplugEnv {
  /** Where sysfs is mounted ("/sys" in a guest). */
  sysfs: string;
  /** Asynchronous sleep (tests may shorten it). */
  sleep?: (ms: number) => Promise<void>;
  retries?: number;
  log?: { info(msg: string, f?: Record<string, unknown>): void };
}

/** Where one container's cpuset lives: the hierarchy root and the container's directory in it. */
export interface CpusetTarget {
  id: string;
  root: string;
  dir: string;
  /** The spec's Resources.CPU.Cpus ("" = none: the container keeps the guest's list). */
  cpus: string;
}

export interface OnlineRequest {
  nbCpus: number;
  cpuOnly: boolean;
}

class HotplugError extends AgentError {
  constructor(message: string) {
    super("internal", message);
  }
}

const cpuDir = (env: HotplugEnv) => join(env.sysfs, "devices/system/cpu");
const memoryDir = (env: HotplugEnv) => join(env.sysfs, "devices/system/memory");

/** Number of CPUs in a kernel cpu list ("0-3,6,8-9" → 7). Throws on anything else. */
export function cpuListCount(list: string): number {
  const s = list.trim();
  if (s === "") return 0;
  let n = 0;
  for (const part of s.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new HotplugError(`cpu list ${JSON.stringify(list)}: ${JSON.stringify(part)} is not a cpu or a range`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new HotplugError(`cpu list ${JSON.stringify(list)}: range ${part} is reversed`);
    n += hi - lo + 1;
  }
  return n;
}

function readSys(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new HotplugError(`read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The guest's online CPU list, as /sys/devices/system/cpu/online has it ("0-1"). */
export function guestCpus(env: HotplugEnv): string {
  return readSys(join(cpuDir(env), "online")).trim();
}

/**
 * Writes "1" to the `online` file of every entry of `dir` named like `prefix<N>` whose file reads
 * 0, in numeric order; stops after `max` successes when max > 0. Entries without the file (cpu0)
 * or whose write fails are skipped, as Kata skips them. Returns how many came online.
 */
export async function onlineEntries(dir: string, prefix: "cpu" | "memory", max: number): Promise<number> {
  const re = new RegExp(`^${prefix}(\\d+)$`);
  const names = readdirSync(dir)
    .map((n) => ({ n, m: re.exec(n) }))
    .filter((e) => e.m)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
    .map((e) => e.n);
  let count = 0;
  for (const name of names) {
    const file = join(dir, name, "online");
    let state: string;
    try {
      state = await readFile(file, "utf8");
    } catch {
      continue;
    }
    if (!state.trim().includes("0")) continue;
    try {
      await writeFile(file, "1");
    } catch {
      continue;
    }
    count++;
    if (max > 0 && count >= max) break;
  }
  return count;
}

/** Brings CPUs online until `want` are online (Kata's retry rule). Returns the online count. */
export async function onlineCpus(env: HotplugEnv, want: number): Promise<number> {
  const onlineFile = join(cpuDir(env), "online");
  let online = cpuListCount(readSys(onlineFile));
  if (online >= want) return online;
  const retries = env.retries ?? CPU_ONLINE_RETRIES;
  const sleep = env.sleep ?? ((ms: number) => Bun.sleep(ms));
  for (let i = 0; i < retries; i++) {
    await onlineEntries(cpuDir(env), "cpu", want - online);
    online = cpuListCount(readSys(onlineFile));
    if (online >= want) {
      env.log?.info("CPUs online", { online, wanted: want, retries: i });
      return online;
    }
    await sleep(CPU_ONLINE_WAIT_MS);
  }
  throw new HotplugError(`OnlineCPUMem: failed to online ${want} CPU(s) after ${retries} retries (${online} online)`);
}

/** Brings every offline memory block online. Returns how many it onlined. */
export async function onlineMemory(env: HotplugEnv): Promise<number> {
  const dir = memoryDir(env);
  if (!existsSync(dir)) throw new HotplugError(`OnlineCPUMem: ${dir} does not exist (no memory hotplug in this kernel)`);
  return onlineEntries(dir, "memory", 0);
}

/**
 * The cgroup directories to widen, from the level below the hierarchy root down to the container
 * (Kata walks the container path's ancestors up to the root, root excluded).
 */
export function cpusetLevels(root: string, dir: string): string[] {
  const rel = relative(root, dir);
  if (rel === "" || rel.startsWith("..")) return [];
  const parts = rel.split(sep);
  return parts.map((_, i) => join(root, ...parts.slice(0, i + 1)));
}

/** Kata's update_cpuset_path for one container: every level gets the guest's CPUs, then the
 *  container its own list. Levels without a cpuset.cpus file (v2 without the cpuset controller)
 *  are left alone. */
export function refreshCpuset(guest: string, t: CpusetTarget): void {
  if (guest === "") return;
  const write = (dir: string, value: string) => {
    const file = join(dir, "cpuset.cpus");
    if (!existsSync(file)) return;
    try {
      writeFileSync(file, value);
    } catch (e) {
      throw new HotplugError(`OnlineCPUMem: container ${t.id}: write ${value} to ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  for (const level of cpusetLevels(t.root, t.dir)) write(level, guest);
  if (t.cpus !== "") write(t.dir, t.cpus);
}

/** OnlineCPUMem (Kata's Sandbox::online_cpu_memory). */
export async function onlineCpuMem(env: HotplugEnv, req: OnlineRequest, containers: () => CpusetTarget[]): Promise<void> {
  if (!Number.isInteger(req.nbCpus) || req.nbCpus < 0) throw invalid(`OnlineCPUMem: nb_cpus ${req.nbCpus} is not a CPU count`);
  if (req.nbCpus > 0) await onlineCpus(env, req.nbCpus);
  if (!req.cpuOnly) {
    const n = await onlineMemory(env);
    if (n > 0) env.log?.info("memory blocks online", { onlined: n });
  }
  if (req.nbCpus === 0) return;
  const guest = guestCpus(env);
  for (const t of containers()) refreshCpuset(guest, t);
}

/** MemHotplugByProbe: each address, as Kata writes it ("0x" + upper-case hex), to memory/probe. */
export async function memHotplugByProbe(env: HotplugEnv, addrs: readonly bigint[]): Promise<void> {
  const probe = join(memoryDir(env), "probe");
  if (addrs.length > 0 && !existsSync(probe)) {
    throw new AgentError("precondition", `MemHotplugByProbe: ${probe} does not exist (the kernel has no ARCH_MEMORY_PROBE)`);
  }
  for (const a of addrs) {
    const text = "0x" + a.toString(16).toUpperCase();
    try {
      await writeFile(probe, text);
    } catch (e) {
      throw new HotplugError(`MemHotplugByProbe: write ${text} to ${probe}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}
