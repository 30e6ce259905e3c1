// 2. Container lifecycle of /bin/true in a busybox bundle: our agent over one ttRPC connection
// (Create → Start → Wait → Remove, driven by containerd's Go ttRPC client) vs `runc run` and
// `crun run` of the same bundle as whole commands, timed by the same Go program.
import { join } from "node:path";
import { writeAgentSpec, writeRuncBundle } from "../lib/bundle.ts";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { cpuMs, runJson, startAgent } from "../lib/procs.ts";
import type { Row } from "../lib/report.ts";
import { crun, runc, type Runtime } from "../lib/runtimes.ts";
import { spawnFloorMs } from "../lib/floor.ts";
import { interleave, median, p99 } from "../lib/stats.ts";

interface Samples {
  samples_us: number[];
}
interface CommandResult extends Samples {
  cpu_us: number[];
}
interface LifecycleResult extends Samples {
  create: { p50_us: number };
  start: { p50_us: number };
  wait: { p50_us: number };
  remove: { p50_us: number };
}

export async function lifecycleRows(ctx: BenchContext): Promise<Row[]> {
  const dir = join(ctx.work, "lifecycle");
  const spec = writeAgentSpec(join(dir, "true.pb"), ctx.rootfs, ["/bin/true"]);
  const bundle = writeRuncBundle(join(dir, "bundle"), ctx.rootfs, ["/bin/true"]);
  const runtimes = [runc(join(dir, "runc-state")), crun(join(dir, "crun-state"))];
  const rounds = pick(ctx, 5, 20);
  const perRound = pick(ctx, 10, 25);
  const ours: number[] = [];
  const steps: LifecycleResult[] = [];
  const peers = new Map<string, number[]>(runtimes.map((r) => [r.name, []]));
  const peerCpu = new Map<string, number[]>(runtimes.map((r) => [r.name, []]));
  // The agent's CPU over its rounds (itself, and the container processes it reaped).
  const agentCpu = { self: 0, children: 0, lifecycles: 0 };
  const agent = await startAgent(ctx.agentBin, dir);
  let round = 0;
  try {
    ctx.progress(`lifecycle: ${rounds} rounds × ${perRound} of agent, ${runtimes.map((r) => r.name).join(", ")}`);
    const agentStep = async () => {
      const c0 = cpuMs(agent.pid);
      const r = await runJson<LifecycleResult>([ctx.go.client, "lifecycle", "-addr", agent.address, "-spec", spec, "-n", String(perRound), "-id", `lc-${round++}`]);
      const c1 = cpuMs(agent.pid);
      agentCpu.self += c1.self - c0.self;
      agentCpu.children += c1.children - c0.children;
      agentCpu.lifecycles += perRound;
      ours.push(...r.samples_us);
      steps.push(r);
    };
    const peerStep = (rt: Runtime) => async () => {
      if (rt.missing) return;
      const tag = `${rt.name}-${round++}`;
      const r = await runJson<CommandResult>(rt.wrap([ctx.go.client, "command", "-n", String(perRound), "--", ...rt.argv("run", "-b", bundle.dir, `${tag}-{i}`)]));
      peers.get(rt.name)!.push(...r.samples_us);
      peerCpu.get(rt.name)!.push(...r.cpu_us);
    };
    await interleave(rounds, [agentStep, ...runtimes.map(peerStep)]);
  } finally {
    await agent.stop();
  }
  const ms = (xs: number[]) => (xs.length ? median(xs) / 1000 : null);
  const stepMedians = Object.fromEntries((["create", "start", "wait", "remove"] as const).map((k) => [k, median(steps.map((s) => s[k].p50_us))]));
  const detail = { rounds, perRound, client: "Go ttRPC client (bench-client lifecycle)", ourP99Ms: p99(ours) / 1000, stepMediansUs: stepMedians,
    peers: Object.fromEntries([...peers].map(([k, v]) => [k, { medianMs: ms(v), p99Ms: v.length ? p99(v) / 1000 : null }])) };
  const perLifecycle = (ms: number) => (agentCpu.lifecycles ? ms / agentCpu.lifecycles : null);
  const crunCpu = peerCpu.get("crun")!;
  const crunRt = runtimes.find((r) => r.name === "crun")!;
  const cpuDetail = { agentSelfMs: agentCpu.self, agentChildrenMs: agentCpu.children, lifecycles: agentCpu.lifecycles,
    crunMedianMs: crunCpu.length ? median(crunCpu) / 1000 : null, crunMeanMs: crunCpu.length ? crunCpu.reduce((a, b) => a + b, 0) / crunCpu.length / 1000 : null,
    runcMedianMs: peerCpu.get("runc")!.length ? median(peerCpu.get("runc")!) / 1000 : null };
  const crunMean = cpuDetail.crunMeanMs;
  const cpuRows: Row[] = [
    { id: "lifecycle_cpu_agent", what: "CPU per lifecycle: agent (utime+stime)", unit: "ms", value: perLifecycle(agentCpu.self), anchor: crunMean,
      anchorName: "crun run, whole process tree", na: crunRt.missing ?? undefined, detail: cpuDetail,
      note: "agent: /proc/PID/stat over its rounds, 10 ms ticks, per lifecycle; crun: wait4 rusage of each `crun run` (it waits for the container), mean" },
    { id: "lifecycle_cpu_agent_tree", what: "CPU per lifecycle: agent + container processes", unit: "ms", value: perLifecycle(agentCpu.self + agentCpu.children),
      anchor: crunMean, anchorName: "crun run, whole process tree", na: crunRt.missing ?? undefined },
  ];
  return [...runtimes.map((rt, i): Row => ({
    id: `lifecycle_vs_${rt.name}`,
    what: `lifecycle /bin/true vs ${rt.name} run`,
    unit: "ms",
    value: ms(ours),
    anchor: ms(peers.get(rt.name)!),
    anchorName: `${rt.name} run (whole command)`,
    target: { kind: "ratio", better: "lower", limit: 0.5 },
    na: rt.missing ?? undefined,
    note: i === 0 ? "agent driven by the Go ttRPC client over one connection" : undefined,
    detail,
  })), floorRow(ctx, ms(ours)), ...cpuRows];
}

/** The lifecycle against the kernel's part of any container run here: clone into the spec's five
 *  new namespaces, exec the same /bin/true, wait (bench/floor/spawn-true.c; no mounts, cgroups,
 *  RPCs). What crun and the agent each add is above it. */
function floorRow(ctx: BenchContext, oursMs: number | null): Row {
  const runs = pick(ctx, 200, 1000);
  return { id: "lifecycle_namespace_floor", what: "  lifecycle, against a process in five new namespaces", unit: "ms", value: oursMs,
    anchor: spawnFloorMs(ctx.work, runs, join(ctx.rootfs, "bin/true"), true),
    anchorName: "clone(5 CLONE_NEW*)+exec+wait from C",
    note: "the floor: the namespaces, one process's life and their teardown, no mounts, cgroups or RPCs", detail: { runs } };
}
