// Benchmarks of the agent against real peers, every pair measured in the same run, interleaved.
//   bun bench/run.ts [--quick] [--only health,lifecycle,exec,stdout,startup,memory,density,pod,size,vm] [--agent PATH] [--build]
// Prints a table on stdout (progress on stderr) and writes bench/results/<timestamp>.json and
// bench/results/latest.json. Needs root (containers, cgroups), the Go toolchain and Debian's
// containerd ttrpc sources (Go peers), runc and crun (anchors), qemu + a kernel for the VM row.
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildGoPeers } from "./lib/go-build.ts";
import { makeRootfs } from "./lib/bundle.ts";
import type { BenchContext } from "./lib/context.ts";
import { machineInfo } from "./lib/machine.ts";
import { tableLines, toJson, type Row } from "./lib/report.ts";
import { healthRows } from "./scenarios/health.ts";
import { lifecycleRows } from "./scenarios/lifecycle.ts";
import { execRows } from "./scenarios/exec.ts";
import { stdoutRows } from "./scenarios/stdout.ts";
import { memoryRows, sizeRows, startupRows } from "./scenarios/process.ts";
import { vmRows } from "./scenarios/vm.ts";
import { podRows } from "./scenarios/pod.ts";
import { densityRows } from "./scenarios/density.ts";

const root = join(import.meta.dir, "..");
const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<Row[]>> = {
  health: healthRows,
  lifecycle: lifecycleRows,
  exec: execRows,
  stdout: stdoutRows,
  startup: startupRows,
  memory: memoryRows,
  density: densityRows,
  pod: podRows,
  size: sizeRows,
  vm: vmRows,
};

function option(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i]!.includes("=") ? args[i]!.slice(name.length + 1) : args[i + 1];
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const only = option(args, "--only")?.split(",") ?? Object.keys(SCENARIOS);
  for (const o of only) if (!SCENARIOS[o]) throw new Error(`unknown scenario ${o} (known: ${Object.keys(SCENARIOS).join(", ")})`);
  if (process.getuid?.() !== 0) throw new Error("the benchmarks need root (containers, cgroups, mounts)");
  const agentBin = option(args, "--agent") ?? join(root, "dist/kata-agent");
  if (args.includes("--build") || !existsSync(agentBin)) {
    console.error(`building ${agentBin} (bun build.ts)`);
    const p = Bun.spawnSync([process.execPath, join(root, "build.ts")], { cwd: root, stdout: "inherit", stderr: "inherit" });
    if (p.exitCode !== 0) throw new Error("bun build.ts failed");
  }
  const started = new Date();
  const t0 = performance.now();
  const progress = (msg: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
  progress(`mode ${quick ? "quick" : "full"}: ${only.join(", ")}`);
  const base = join(root, "test/.work/bench");
  const work = join(base, `run-${process.pid}`);
  mkdirSync(work, { recursive: true });
  // The Go server is an anchor of start-to-ready: it gets a fresh copy too. The same binary in an
  // older file (its page cache thinned by other runs) was seen to start up to 1.6 ms slower
  // (docs/PERFORMANCE.md, session 7), and the agent is always a fresh copy.
  const built = buildGoPeers();
  const go = { ...built, server: join(work, "bench-server") };
  copyFileSync(built.server, go.server);
  chmodSync(go.server, 0o755);
  const rootfs = await makeRootfs(join(base, "shared"));
  // A private copy: other people may rebuild dist/ while a long run is going.
  const agentCopy = join(work, "kata-agent");
  const builtAt = statSync(agentBin).mtime.toISOString();
  copyFileSync(agentBin, agentCopy);
  chmodSync(agentCopy, 0o755);
  const ctx: BenchContext = { quick, work, agentBin: agentCopy, go, rootfs, progress };

  const loadBefore = readFileSync("/proc/loadavg", "utf8").trim();
  const machine = { ...machineInfo(agentCopy, agentBin, root), agentBuiltAt: builtAt, loadavgBefore: loadBefore };
  const rows: Row[] = [];
  const failures: Record<string, string> = {};
  try {
    for (const name of only) {
      const s0 = performance.now();
      try {
        rows.push(...(await SCENARIOS[name]!(ctx)));
      } catch (e) {
        const msg = (e as Error).message;
        failures[name] = msg;
        progress(`${name} FAILED: ${msg}`);
        rows.push({ id: name, what: name, unit: "", value: null, anchor: null, anchorName: "", na: `failed: ${msg.split("\n")[0]!.slice(0, 120)}` });
      }
      progress(`${name} done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const seconds = (performance.now() - t0) / 1000;
  const lines = tableLines(rows);
  console.log(`kata-agent benchmarks (${quick ? "quick" : "full"} run, ${started.toISOString()}, ${seconds.toFixed(0)} s)`);
  console.log(lines.join("\n"));
  for (const r of rows) if (r.note) console.log(`  ${r.what}: ${r.note}`);

  const result = {
    started: started.toISOString(),
    mode: quick ? "quick" : "full",
    seconds,
    command: `bun bench/run.ts ${args.join(" ")}`.trim(),
    machine: { ...machine, loadavgAfter: readFileSync("/proc/loadavg", "utf8").trim() },
    rows: rows.map(toJson),
    failures,
    table: lines,
  };
  const dir = join(import.meta.dir, "results");
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, "-");
  const text = JSON.stringify(result, null, 2);
  writeFileSync(join(dir, `${stamp}.json`), text);
  writeFileSync(join(dir, "latest.json"), text);
  console.log(`results: bench/results/${stamp}.json (and latest.json)`);
  return Object.keys(failures).length ? 1 : 0;
}

process.exit(await main());
