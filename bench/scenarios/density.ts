// 10. The agent's memory per running idle container: RSS of one agent before and after 100
// containers running `sleep` (the minimal busybox spec, Create + Start through our TS client),
// each figure read once the agent has settled (its idle shrink has run, src/idle-gc.ts).
//
// Two rows. The target row measures the second batch: 100 containers are started and removed
// first, so "before" already holds the heap the agent grows to while it makes 100 containers
// (JIT code, heap blocks and allocator pages kept for reuse), and the difference is what each
// running container keeps. The first batch's figure, after a warm-up of a few, is reported too:
// it adds that one-off growth, spread over the 100.
import { join } from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { memoryOf, startAgent, type Memory } from "../lib/procs.ts";
import type { Row } from "../lib/report.ts";
import { rpc } from "../../test/integration/network-harness.ts";
import { minimalOciConfig, ociConfigToSpec } from "../../src/ctl/oci-json.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";

/** After the last call: idle GC at 0.5 s, GC + shrink at 10 s (src/idle-gc.ts). */
const SETTLE_MS = 11_000;

export async function densityRows(ctx: BenchContext): Promise<Row[]> {
  const n = 100;
  const warm = pick(ctx, 5, 10);
  const spec = ociConfigToSpec(minimalOciConfig({ rootfs: ctx.rootfs, args: ["sleep", "1000000"] }));
  const agent = await startAgent(ctx.agentBin, join(ctx.work, "density"));
  const c = await TtrpcClient.connect(agent.address);
  const start = async (id: string) => {
    await rpc(c, "CreateContainer", { container_id: id, exec_id: id, OCI: spec });
    await rpc(c, "StartContainer", { container_id: id });
  };
  const stop = async (id: string) => {
    await rpc(c, "SignalProcess", { container_id: id, exec_id: "", signal: 9 });
    await rpc(c, "WaitProcess", { container_id: id, exec_id: "" });
    await rpc(c, "RemoveContainer", { container_id: id, timeout: 0 });
  };
  /** Starts n containers named prefix0…, settled figures before and after. */
  const batch = async (prefix: string) => {
    await Bun.sleep(SETTLE_MS);
    const before: Memory = memoryOf(agent.pid);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await start(`${prefix}${i}`);
    const startSeconds = (performance.now() - t0) / 1000;
    await Bun.sleep(SETTLE_MS);
    const after: Memory = memoryOf(agent.pid);
    return { before, after, startSeconds };
  };
  try {
    ctx.progress(`idle containers: ${warm} warm-up, ${n} running and removed, then ${n} running; ${(4 * SETTLE_MS) / 1000} s of settling`);
    for (let i = 0; i < warm; i++) {
      await start(`warm${i}`);
      await stop(`warm${i}`);
    }
    const first = await batch("first");
    for (let i = 0; i < n; i++) await stop(`first${i}`);
    const second = await batch("idle");
    const per = (b: typeof first, f: (m: Memory) => number) => (f(b.after) - f(b.before)) / n;
    const note = (b: typeof first) => `RSS ${(b.before.rssKiB / 1024).toFixed(1)} → ${(b.after.rssKiB / 1024).toFixed(1)} MiB with ${n} containers running sleep, each read 11 s after the last call`;
    const detail = { containers: n, warmup: warm, settleMs: SETTLE_MS, first, second };
    return [
      { id: "idle_container_rss", what: `RSS per idle running container (${n}, second batch)`, unit: "KiB", value: per(second, (m) => m.rssKiB), anchor: null, anchorName: "",
        target: { kind: "absolute", better: "lower", limit: 64 }, detail, note: `${note(second)}, after a first ${n} were started and removed` },
      { id: "idle_container_anon", what: `anon RSS per idle running container (${n}, second)`, unit: "KiB", value: per(second, (m) => m.anonKiB), anchor: null, anchorName: "" },
      { id: "idle_container_rss_first", what: `RSS per idle running container (${n}, first batch)`, unit: "KiB", value: per(first, (m) => m.rssKiB), anchor: null, anchorName: "",
        note: `${note(first)}, after ${warm} warm-up lifecycles: includes the agent's one-off growth` },
    ];
  } finally {
    await c.close().catch(() => {});
    await agent.stop(); // SIGTERM: the agent removes every container
  }
}
