// Where the agent's time goes, for one workload: runs the DEV agent (`bun --cpu-prof src/main.ts`)
// under Bun's sampling profiler, drives it with bench-client, stops it with SIGTERM and prints
// the top functions by self time (and by total time) from the .cpuprofile.
//   bun bench/profile.ts stdout|lifecycle|exec|check16 [--n N] [--strace] [--perf]
// --strace runs the COMPILED agent (dist/kata-agent) under `strace -c -f` instead, without the
// profiler (whose sampling signals would show up as tgkill/futex storms): syscall counts, including
// the container processes; it slows things down, so use it for counts, not times.
// --perf records `perf record -g` system-wide for the workload's duration.
// Output files stay in test/.work/bench/profile/.
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildGoPeers } from "./lib/go-build.ts";
import { makeRootfs, writeAgentSpec } from "./lib/bundle.ts";
import { runJson, writeAgentConfig } from "./lib/procs.ts";
import { GiB, MiB } from "./lib/context.ts";
import { writerArgs } from "./scenarios/stdout.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self and total sample counts per function (file:line), from a Chrome-format .cpuprofile. */
export function topFunctions(p: CpuProfile, limit = 25): { self: [string, number][]; total: [string, number][]; samples: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\/(src|node_modules)\//, "$1/")}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const id of p.samples) {
    const n = byId.get(id)!;
    self.set(name(n), (self.get(name(n)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = name(byId.get(cur)!);
      if (!seen.has(k)) total.set(k, (total.get(k) ?? 0) + 1), seen.add(k);
    }
  }
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, limit);
  return { self: top(self), total: top(total), samples: p.samples.length };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const workload = args[0] ?? "stdout";
  const nOpt = args.indexOf("--n");
  const n = nOpt >= 0 ? Number(args[nOpt + 1]) : undefined;
  const root = join(import.meta.dir, "..");
  const dir = join(root, "test/.work/bench/profile");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const go = buildGoPeers();
  const rootfs = await makeRootfs(join(root, "test/.work/bench/shared"));
  const sock = join(dir, "agent.sock");
  const config = writeAgentConfig(dir, sock);
  const agentArgv = [process.execPath, "--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=200", join(root, "src/main.ts"), "--config", config];
  const strace = args.includes("--strace");
  const argv = strace ? ["strace", "-c", "-f", "-o", join(dir, "strace.txt"), join(root, "dist/kata-agent"), "--config", config] : agentArgv;
  const agent = Bun.spawn(argv, { cwd: root, stdin: "ignore", stdout: Bun.file(join(dir, "agent.log")), stderr: Bun.file(join(dir, "agent.err")) });
  for (let i = 0; i < 2000 && !(await Bun.file(sock).exists()); i++) await Bun.sleep(5);
  const addr = `unix://${sock}`;
  let perf: ReturnType<typeof Bun.spawn> | undefined;
  if (args.includes("--perf")) {
    perf = Bun.spawn(["perf", "record", "-g", "-a", "-o", join(dir, "perf.data")], { stdout: "ignore", stderr: "ignore" });
    await Bun.sleep(300);
  }
  const t0 = performance.now();
  let result: unknown;
  if (workload === "stdout") {
    const bytes = n ?? GiB;
    const spec = writeAgentSpec(join(dir, "dd.pb"), rootfs, writerArgs(bytes));
    result = await runJson([go.client, "stdout", "-addr", addr, "-spec", spec, "-len", String(MiB), "-bytes", String(bytes)]);
  } else if (workload === "lifecycle") {
    const spec = writeAgentSpec(join(dir, "true.pb"), rootfs, ["/bin/true"]);
    result = await runJson([go.client, "lifecycle", "-addr", addr, "-spec", spec, "-n", String(n ?? 500)]);
    delete (result as { samples_us?: unknown }).samples_us;
  } else if (workload === "exec") {
    const spec = writeAgentSpec(join(dir, "sleep.pb"), rootfs, ["sleep", "100000"]);
    result = await runJson([go.client, "exec", "-addr", addr, "-spec", spec, "-n", String(n ?? 500)]);
    delete (result as { samples_us?: unknown }).samples_us;
  } else if (workload === "check16") {
    result = await runJson([go.client, "check", "-addr", addr, "-inflight", "16", "-calls", String(n ?? 200000)]);
  } else throw new Error(`unknown workload ${workload}`);
  const seconds = (performance.now() - t0) / 1000;
  if (perf) {
    perf.kill("SIGINT");
    await perf.exited;
  }
  // Under strace, signal the agent itself (strace's child), not strace.
  const target = strace ? Number(readFileSync(`/proc/${agent.pid}/task/${agent.pid}/children`, "utf8").trim().split(/\s+/)[0]) : agent.pid;
  process.kill(target, "SIGTERM");
  await agent.exited;
  console.log(JSON.stringify({ workload, seconds, result }));
  if (strace) {
    console.log(`\n${readFileSync(join(dir, "strace.txt"), "utf8")}`);
    return;
  }
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir} (agent exit ${agent.exitCode})`);
  const top = topFunctions(JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile);
  const pct = (k: number) => `${((100 * k) / top.samples).toFixed(1).padStart(5)}%`;
  console.log(`\n${top.samples} samples (every 200 µs of agent main-thread time, idle included); top self time:`);
  for (const [k, v] of top.self) console.log(`${pct(v)}  ${k}`);
  console.log("\ntop total time:");
  for (const [k, v] of top.total) console.log(`${pct(v)}  ${k}`);
  console.log(`\nfiles in ${dir}`);
}

if (import.meta.main) await main();
