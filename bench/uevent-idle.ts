// Idle cost of the uevent listener: CPU time of an idle agent over a window — utime+stime in clock
// ticks and the scheduler's nanoseconds (sum of /proc/PID/task/*/schedstat) — for the whole
// process and for the listener's own thread ("kata-uevent"), optionally next to a baseline binary
// without the listener. It also counts the uevents the kernel sent meanwhile (a busy host makes
// some: each one wakes the listener), with a socket of its own.
//   bun bench/uevent-idle.ts [--agent dist/kata-agent] [--baseline /path/to/old/kata-agent] [--seconds 10] [--runs 3]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openUeventSocket } from "../src/sys/uevent-socket.ts";

function option(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const agent = option("--agent", join(import.meta.dir, "../dist/kata-agent"))!;
const baseline = option("--baseline");
const seconds = Number(option("--seconds", "10"));
const runs = Number(option("--runs", "3"));
const HZ = 100; // USER_HZ on Linux

/** utime+stime in ticks from a /proc/.../stat line. */
function ticks(statPath: string): number {
  const s = readFileSync(statPath, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** CPU nanoseconds of every thread of pid (schedstat's first field). */
function schedNs(pid: number): number {
  let sum = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {}
  }
  return sum;
}

/** CPU nanoseconds of one thread, from its stat path's sibling schedstat. */
function threadNs(statPath: string): number {
  return Number(readFileSync(statPath.replace(/stat$/, "schedstat"), "utf8").split(" ")[0]);
}

function listenerThread(pid: number): string | undefined {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim() === "kata-uevent") return `/proc/${pid}/task/${tid}/stat`;
  }
  return undefined;
}

async function measure(bin: string): Promise<{ proc: number; ns: number; thread: number | undefined; threadNs: number; events: number }> {
  const dir = mkdtempSync(join(tmpdir(), "uevent-idle-"));
  writeFileSync(join(dir, "agent.toml"), `server_addr = "unix://${dir}/a.sock"\nlog_level = "info"\n`);
  const p = Bun.spawn([bin, "--config", join(dir, "agent.toml")], { stdout: "pipe", stderr: "pipe" });
  try {
    let out = "";
    const dec = new TextDecoder();
    const reader = p.stdout.getReader();
    while (!out.includes('"agent ready"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`agent exited: ${out}`);
      out += dec.decode(value);
    }
    void (async () => { while (!(await reader.read()).done); })();
    await Bun.sleep(3000); // start-up work and the first idle collections are over
    const thread = listenerThread(p.pid);
    const sock = openUeventSocket();
    let events = 0;
    const counting = (async () => { for await (const _ of sock.frames) events++; })();
    const p0 = ticks(`/proc/${p.pid}/stat`);
    const n0 = schedNs(p.pid);
    const t0 = thread ? ticks(thread) : 0;
    const tn0 = thread ? threadNs(thread) : 0;
    await Bun.sleep(seconds * 1000);
    const r = { proc: ticks(`/proc/${p.pid}/stat`) - p0, ns: schedNs(p.pid) - n0, thread: thread ? ticks(thread) - t0 : undefined,
      threadNs: thread ? threadNs(thread) - tn0 : 0, events };
    sock.stop();
    await counting;
    return r;
  } finally {
    p.kill(9);
    await p.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (t: number) => `${t} ticks (${((t / HZ) * 1000).toFixed(0)} ms)`;
const ms = (ns: number) => `${(ns / 1e6).toFixed(2)} ms`;
for (let i = 0; i < runs; i++) {
  const m = await measure(agent);
  console.log(`run ${i + 1} agent:    ${seconds} s idle: process ${fmt(m.proc)}, ${ms(m.ns)} scheduled; kata-uevent thread ${m.thread === undefined ? "not found" : `${fmt(m.thread)}, ${ms(m.threadNs)} scheduled`}; ${m.events} uevents on the host meanwhile`);
  if (baseline) {
    const b = await measure(baseline);
    console.log(`run ${i + 1} baseline: ${seconds} s idle: process ${fmt(b.proc)}, ${ms(b.ns)} scheduled; ${b.events} uevents on the host meanwhile`);
  }
}
