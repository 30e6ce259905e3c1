// 3. ExecProcess → WaitProcess of /bin/true in a running container (a long `sleep`), through
// containerd's Go ttRPC client. Anchor for context: `runc exec` of /bin/true into a running runc
// container of the same bundle (whole command). The target is absolute (p50 ≤ 3 ms).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeAgentSpec, writeRuncBundle } from "../lib/bundle.ts";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { runJson, startAgent } from "../lib/procs.ts";
import { spawnFloorMs } from "../lib/floor.ts";
import type { Row } from "../lib/report.ts";
import { forceDelete, runc } from "../lib/runtimes.ts";
import { interleave, median, p99 } from "../lib/stats.ts";

interface Samples {
  samples_us: number[];
}

/** Runs a command whose children may outlive it (runc run -d): its output goes to a file, not a
 *  pipe, which the detached container would hold open for ever. */
function runOk(argv: string[], logFile: string): void {
  const p = Bun.spawnSync(argv, { stdin: "ignore", stdout: Bun.file(logFile), stderr: Bun.file(logFile) });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (exit ${p.exitCode}): ${readFileSync(logFile, "utf8")}`);
}

/** The p50 against the cost of any process here: posix_spawn + waitpid of the same /bin/true
 *  from a small C program, no container and no RPC (bench/floor/spawn-true.c). */
function floorRow(ctx: BenchContext, oursMs: number): Row {
  const runs = pick(ctx, 300, 2000);
  return { id: "exec_p50_process_floor", what: "  same p50, against starting any process here", unit: "ms", value: oursMs, anchor: spawnFloorMs(ctx.work, runs, join(ctx.rootfs, "bin/true")),
    anchorName: "posix_spawn+waitpid of the same /bin/true from C",
    note: "the floor is one process's whole life on this machine, without namespaces, cgroups or RPCs", detail: { runs } };
}

export async function execRows(ctx: BenchContext): Promise<Row[]> {
  const dir = join(ctx.work, "exec");
  const sleeper = ["sleep", "1000000"];
  const spec = writeAgentSpec(join(dir, "sleep.pb"), ctx.rootfs, sleeper);
  const bundle = writeRuncBundle(join(dir, "bundle"), ctx.rootfs, sleeper);
  const rt = runc(join(dir, "runc-state"));
  const rounds = pick(ctx, 5, 20);
  const perRound = pick(ctx, 20, 50);
  const ours: number[] = [];
  const theirs: number[] = [];
  const agent = await startAgent(ctx.agentBin, dir);
  const runcId = "bench-exec";
  let round = 0;
  try {
    if (!rt.missing) runOk(rt.argv("run", "-d", "-b", bundle.dir, runcId), join(dir, "runc-run.log"));
    ctx.progress(`exec: ${rounds} rounds × ${perRound}`);
    await interleave(rounds, [
      async () => {
        const r = await runJson<Samples>([ctx.go.client, "exec", "-addr", agent.address, "-spec", spec, "-n", String(perRound), "-id", `ex-${round++}`]);
        ours.push(...r.samples_us);
      },
      async () => {
        if (rt.missing) return;
        const r = await runJson<Samples>([ctx.go.client, "command", "-n", String(perRound), "--", ...rt.argv("exec", runcId, "/bin/true")]);
        theirs.push(...r.samples_us);
      },
    ]);
  } finally {
    await agent.stop();
    forceDelete(rt, runcId);
  }
  const anchorName = "runc exec (whole command)";
  const detail = { rounds, perRound, client: "Go ttRPC client (bench-client exec)" };
  return [
    { id: "exec_p50", what: "ExecProcess+WaitProcess p50", unit: "ms", value: median(ours) / 1000, anchor: theirs.length ? median(theirs) / 1000 : null,
      anchorName, target: { kind: "absolute", better: "lower", limit: 1 }, detail, na: rt.missing ?? undefined },
    { id: "exec_p99", what: "ExecProcess+WaitProcess p99", unit: "ms", value: p99(ours) / 1000, anchor: theirs.length ? p99(theirs) / 1000 : null, anchorName },
    floorRow(ctx, median(ours) / 1000),
  ];
}
