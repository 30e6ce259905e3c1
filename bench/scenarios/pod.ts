// 9. The pod replay, timed end to end on the host: what the Kata runtime sends to start a pod
// (test/integration/storage-pod-fixture.ts has the request shapes, the network tests the
// interface and routes): CreateSandbox with the virtio-fs share (a host dir pre-bound where
// virtio-fs would be) and the shm ephemeral storage → UpdateInterface → UpdateRoutes → pause
// container created and started → app container created and started. Every round uses a fresh
// agent in its own mount namespace (the fixture's holder) and its own network namespace with a
// veth whose peer sits in a second namespace (no traffic is sent). No anchor: per-step medians.
import { join } from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { startAgent } from "../lib/procs.ts";
import type { Row } from "../lib/report.ts";
import { median, p99 } from "../lib/stats.ts";
import { makePod } from "../../test/integration/storage-pod-fixture.ts";
import { rpc, sh } from "../../test/integration/network-harness.ts";
import { killAndRemoveCgroups } from "../../test/integration/containers-harness.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";

const MAC = "02:42:0a:f4:01:05";
const STEPS = ["CreateSandbox", "UpdateInterface", "UpdateRoutes", "CreateContainer pause", "StartContainer pause",
  "CreateContainer app", "StartContainer app"] as const;
type Step = (typeof STEPS)[number];

async function oneReplay(ctx: BenchContext, round: number): Promise<{ steps: Record<Step, number>; totalMs: number }> {
  const tag = `b${process.pid % 1000}r${round}`;
  const pod = await makePod(tag);
  const podNs = `kata-bench-pod-${process.pid}`;
  const hostNs = `kata-bench-host-${process.pid}`;
  const dropNs = () => {
    for (const ns of [podNs, hostNs]) Bun.spawnSync(["ip", "netns", "del", ns], { stderr: "ignore" });
  };
  dropNs();
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  let c: TtrpcClient | undefined;
  try {
    sh(["ip", "netns", "add", podNs]);
    sh(["ip", "netns", "add", hostNs]);
    // CNI leaves a veth in the pod's namespace (the runtime hot-plugs it; the agent finds it by MAC).
    sh(["ip", "-n", podNs, "link", "add", "veth-pod", "address", MAC, "type", "veth", "peer", "name", "hv0", "netns", hostNs]);
    sh(["ip", "-n", hostNs, "link", "set", "hv0", "up"]);
    agent = await startAgent(ctx.agentBin, join(ctx.work, "pod", `r${round}`), "agent", "",
      ["ip", "netns", "exec", podNs, "nsenter", "-t", String(pod.holderPid), "-m", "--"]);
    c = await TtrpcClient.connect(agent.address);
    const steps = {} as Record<Step, number>;
    const timed = async (step: Step, call: () => Promise<unknown>) => {
      const t0 = performance.now();
      await call();
      steps[step] = performance.now() - t0;
    };
    const t0 = performance.now();
    await timed("CreateSandbox", () => rpc(c!, "CreateSandbox", pod.sandboxReq));
    await timed("UpdateInterface", () => rpc(c!, "UpdateInterface", {
      interface: { device: "", name: "eth0", hwAddr: MAC, IPAddresses: [{ family: 0, address: "10.244.1.5", mask: "24" }], mtu: 1450, type: "veth", raw_flags: 0x1003 },
    }));
    await timed("UpdateRoutes", () => rpc(c!, "UpdateRoutes", {
      routes: { Routes: [
        { dest: "", gateway: "10.244.1.1", device: "eth0", family: 0, scope: 0 },
        { dest: "10.244.1.0/24", gateway: "", device: "eth0", source: "10.244.1.5", family: 0, scope: 253 },
      ] },
    }));
    await timed("CreateContainer pause", () => rpc(c!, "CreateContainer", pod.pauseReq));
    await timed("StartContainer pause", () => rpc(c!, "StartContainer", { container_id: pod.sid }));
    await timed("CreateContainer app", () => rpc(c!, "CreateContainer", pod.appReq));
    await timed("StartContainer app", () => rpc(c!, "StartContainer", { container_id: pod.cid }));
    return { steps, totalMs: performance.now() - t0 };
  } finally {
    await c?.close().catch(() => {});
    await agent?.stop(); // SIGTERM: the agent destroys the sandbox (containers, cgroups, mounts)
    killAndRemoveCgroups(pod.cgroupParent);
    pod.cleanup();
    dropNs();
  }
}

export async function podRows(ctx: BenchContext): Promise<Row[]> {
  if (!Bun.which("ip") || !Bun.which("nsenter")) {
    return [{ id: "pod_replay", what: "pod replay (CreateSandbox → app started)", unit: "ms", value: null, anchor: null, anchorName: "", na: "ip or nsenter missing" }];
  }
  const rounds = pick(ctx, 3, 10);
  ctx.progress(`pod replay: ${rounds} rounds, a fresh agent and namespaces each`);
  const runs: { steps: Record<Step, number>; totalMs: number }[] = [];
  for (let r = 0; r < rounds; r++) runs.push(await oneReplay(ctx, r));
  const stepMediansMs = Object.fromEntries(STEPS.map((s) => [s, median(runs.map((x) => x.steps[s]))]));
  const totals = runs.map((x) => x.totalMs);
  return [{
    id: "pod_replay", what: "pod replay (CreateSandbox → app started)", unit: "ms", value: median(totals), anchor: null, anchorName: "",
    note: `per-step medians: ${STEPS.map((s) => `${s} ${stepMediansMs[s]!.toFixed(2)}`).join(", ")} ms (our TS client, one connection)`,
    detail: { rounds, stepMediansMs, totalP99Ms: p99(totals), runs },
  }];
}
