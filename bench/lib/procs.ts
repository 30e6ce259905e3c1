// Starting and observing the processes under test: our compiled agent and the Go anchor server
// (each on a private unix socket), and reading their memory and fd counts from /proc.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export interface Server {
  name: string;
  pid: number;
  address: string;
  proc: Subprocess;
  stop(): Promise<void>;
}

async function waitForSocket(path: string, proc: Subprocess, what: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!existsSync(path)) {
    if (proc.exitCode !== null) throw new Error(`${what} exited ${proc.exitCode} before listening; log ${logFile}:\n${readLog(logFile)}`);
    if (Date.now() > deadline) throw new Error(`${what} not listening after 15 s; log ${logFile}`);
    await Bun.sleep(2);
  }
}

function readLog(f: string): string {
  try {
    return readFileSync(f, "utf8").slice(-4000);
  } catch {
    return "";
  }
}

async function stopProc(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  await proc.exited;
  clearTimeout(t);
}

/** The agent's config for benchmarks: Kata's default log level (info), a unix socket, and any
 *  `extra` TOML lines a scenario needs (e.g. container_pipe_size). */
export function writeAgentConfig(dir: string, socket: string, extra = ""): string {
  const path = join(dir, "agent.toml");
  writeFileSync(path, `server_addr = "unix://${socket}"\nlog_level = "info"\n${extra}`);
  return path;
}

/** The environment a guest's agent gets from osbuilder-hook (its init shim and systemd unit add
 *  it; osbuilder-hook/init-shim.c says why). The host rows run the binary without it unless a
 *  row says "guest environment". */
export const GUEST_ENV: Readonly<Record<string, string>> = { BUN_JSC_useDFGJIT: "0", BUN_JSC_useWarmUpMarkedBlocks: "0" };

/** `wrap`: a command the agent runs under, which must exec it (same pid), e.g. `ip netns exec NS`.
 *  `env`: added to the bench's environment. */
export async function startAgent(bin: string, dir: string, name = "agent", extraConfig = "", wrap: string[] = [], env: Readonly<Record<string, string>> = {}): Promise<Server> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, `${name}.sock`);
  const config = writeAgentConfig(dir, socket, extraConfig);
  const logFile = join(dir, `${name}.log`);
  const proc = Bun.spawn([...wrap, bin, "--config", config], {
    stdin: "ignore", stdout: Bun.file(logFile), stderr: Bun.file(logFile), env: { ...process.env, ...env },
  });
  await waitForSocket(socket, proc, "agent", logFile);
  return { name, pid: proc.pid, address: `unix://${socket}`, proc, stop: () => stopProc(proc) };
}

export async function startGoServer(bin: string, dir: string, name = "go-server"): Promise<Server> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, `${name}.sock`);
  const logFile = join(dir, `${name}.log`);
  const proc = Bun.spawn([bin, "-addr", `unix://${socket}`], { stdin: "ignore", stdout: Bun.file(logFile), stderr: Bun.file(logFile) });
  await waitForSocket(socket, proc, "Go server", logFile);
  return { name, pid: proc.pid, address: `unix://${socket}`, proc, stop: () => stopProc(proc) };
}

export interface Memory {
  /** VmRSS, KiB */
  rssKiB: number;
  /** RssAnon, KiB */
  anonKiB: number;
  /** RssFile + RssShmem, KiB */
  fileKiB: number;
  /** smaps_rollup Pss, KiB (shared pages divided among their users) */
  pssKiB: number;
  /** smaps_rollup Pss_Anon, KiB */
  pssAnonKiB: number;
}

function field(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return {
    rssKiB: field(status, "VmRSS"),
    anonKiB: field(status, "RssAnon"),
    fileKiB: field(status, "RssFile") + field(status, "RssShmem"),
    pssKiB: field(rollup, "Pss"),
    pssAnonKiB: field(rollup, "Pss_Anon"),
  };
}

/** CPU time of a process from /proc/PID/stat, in ms (USER_HZ ticks: 10 ms resolution): its own
 *  utime+stime, and cutime+cstime of the children it has reaped (a container's processes). */
export function cpuMs(pid: number): { self: number; children: number } {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const tick = 1000 / 100;
  return { self: (Number(f[11]) + Number(f[12])) * tick, children: (Number(f[13]) + Number(f[14])) * tick };
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function threadCount(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

/** Runs a command to completion; its stdout (one JSON line from bench-client) parsed. */
export async function runJson<T>(argv: string[], timeoutMs = 600_000): Promise<T> {
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  const line = out.trim().split("\n").pop() ?? "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`${argv.join(" ")} (exit ${code}) printed no JSON:\n${out}${err}`);
  }
  if (code !== 0 || (parsed as { error?: string }).error) {
    throw new Error(`${argv.slice(0, 2).join(" ")} failed (exit ${code}): ${(parsed as { error?: string }).error ?? ""}\n${err}`);
  }
  return parsed as T;
}
