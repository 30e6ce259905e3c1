// 1. Health.Check round trip and throughput, 1 and 16 calls in flight on one connection, driven
// by containerd's Go ttRPC client against our agent and against a Go ttRPC server (the anchor).
import { join } from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { runJson, startAgent, startGoServer, type Server } from "../lib/procs.ts";
import type { Row } from "../lib/report.ts";
import { interleave, median } from "../lib/stats.ts";

interface CheckResult {
  per_sec: number;
  latency: { p50_us: number; p99_us: number };
}

export async function healthRows(ctx: BenchContext): Promise<Row[]> {
  const dir = join(ctx.work, "health");
  const agent = await startAgent(ctx.agentBin, dir);
  let go: Server | undefined;
  try {
    go = await startGoServer(ctx.go.server, dir);
    const rounds = pick(ctx, 5, 15);
    const rows: Row[] = [];
    for (const inflight of [1, 16]) {
      const calls = inflight === 1 ? pick(ctx, 2000, 10000) : pick(ctx, 8000, 40000);
      const got: Record<"ours" | "go", CheckResult[]> = { ours: [], go: [] };
      const step = (who: "ours" | "go", s: Server) => async () => {
        got[who].push(await runJson<CheckResult>([ctx.go.client, "check", "-addr", s.address, "-inflight", String(inflight), "-calls", String(calls)]));
      };
      ctx.progress(`Check, ${inflight} in flight: ${rounds} rounds × ${calls} calls each`);
      await interleave(rounds, [step("ours", agent), step("go", go)]);
      const m = (who: "ours" | "go", f: (r: CheckResult) => number) => median(got[who].map(f));
      const base = { anchorName: "Go ttRPC server", detail: { rounds, callsPerRound: inflight, ours: got.ours, go: got.go } };
      rows.push(
        { id: `check_p50_${inflight}`, what: `Check p50, ${inflight} in flight`, unit: "µs", value: m("ours", (r) => r.latency.p50_us),
          anchor: m("go", (r) => r.latency.p50_us), target: { kind: "ratio", better: "lower", limit: 1.0 }, ...base },
        { id: `check_p99_${inflight}`, what: `Check p99, ${inflight} in flight`, unit: "µs", value: m("ours", (r) => r.latency.p99_us),
          anchor: m("go", (r) => r.latency.p99_us), anchorName: base.anchorName },
        { id: `check_tput_${inflight}`, what: `Check throughput, ${inflight} in flight`, unit: "calls/s", value: m("ours", (r) => r.per_sec),
          anchor: m("go", (r) => r.per_sec), target: { kind: "ratio", better: "higher", limit: 1.0 }, anchorName: base.anchorName },
      );
    }
    return rows;
  } finally {
    await agent.stop();
    await go?.stop();
  }
}
