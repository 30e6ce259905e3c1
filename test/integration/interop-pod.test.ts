// A pod through containerd's Go ttRPC client (the library the Kata Go runtime uses): CreateSandbox,
// runtime-shaped pause + app containers (app with sandbox_pidns), OnlineCPUMem after each (on a fake
// sysfs: KATA_AGENT_SYSFS), SIGTERM → SIGKILL, GetMetrics parsed strictly, DestroySandbox; and the
// small RPCs' statuses as Kata answers them.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildInteropClient, goAvailable } from "../interop/build.ts";
import { KATA_FAMILIES, parseExposition } from "../helpers/prom-parse.ts";
import { missing } from "../helpers/require.ts";
import { isRoot, startHarness, type Harness } from "./containers-harness.ts";

let h: Harness | undefined;

async function scenarios(hh: Harness, ...names: string[]): Promise<Record<string, any>[]> {
  const bin = buildInteropClient();
  const p = Bun.spawn([bin, "-addr", hh.agent.address, "-rootfs", hh.rootfs, "-cgroup-parent", hh.cgroupPrefix, ...names], {
    stdout: "pipe", stderr: "pipe", timeout: 120_000,
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const lines = out.trim().split("\n").filter(Boolean);
  if (code !== 0) throw new Error(`interop-client exit ${code}: ${err}\n${lines.join("\n")}`);
  return lines.map((l) => JSON.parse(l));
}

/** A guest whose CPUs and memory are all online already. */
function fakeSysfs(dir: string): Record<string, string> {
  const sys = join(dir, "sys");
  mkdirSync(join(sys, "devices/system/cpu/cpu0"), { recursive: true });
  writeFileSync(join(sys, "devices/system/cpu/online"), "0-1\n");
  mkdirSync(join(sys, "devices/system/memory/memory0"), { recursive: true });
  writeFileSync(join(sys, "devices/system/memory/memory0/online"), "1\n");
  return { KATA_AGENT_SYSFS: sys };
}

describe.skipIf(missing({ "Go with containerd ttrpc": goAvailable(), root: isRoot }))("Go ttRPC client drives a pod", () => {
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  test("pod: shared IPC/UTS, shared pid namespace for the flagged app, SIGTERM ends it, metrics, DestroySandbox", async () => {
    h = await startHarness({ env: fakeSysfs });
    const [r] = await scenarios(h, "pod");
    expect(r).toMatchObject({ scenario: "pod", code: "OK", term_exit: 137 });
    const [pIpc, pUts, pPid, pHost] = r!.pause_ns;
    const [aIpc, aUts, aPid, aHost, seen] = r!.app_ns;
    expect([aIpc, aUts, aPid]).toEqual([pIpc, pUts, pPid]);
    expect(pIpc).toMatch(/^ipc:\[\d+\]$/);
    expect([pHost, aHost]).toEqual(["go-pod", "go-pod"]);
    expect(seen).toBe("1"); // the app sees the pause container's sleep
    expect(r!.term_ms).toBeLessThan(1000);
    const metrics = parseExposition(r!.metrics);
    for (const name of KATA_FAMILIES.filter((n) => !n.startsWith("kata_guest_filesystem"))) expect(metrics.has(name), name).toBe(true);
    const online = metrics.get("kata_agent_ts_rpc_calls_total")!.samples.find((s) => s.labels.method === "grpc.AgentService/OnlineCPUMem");
    expect(online).toMatchObject({ labels: { code: "OK" }, value: 2 });
    expect(await h.agent.proc.exited).toBe(0);
  }, 60_000);

  test("guest RPCs answer as Kata: mem-agent disabled, empty reseed refused, relative swap path refused", async () => {
    h = await startHarness({ env: fakeSysfs });
    const [r] = await scenarios(h, "guest-rpcs");
    expect(r).toMatchObject({
      scenario: "guest-rpcs", code: "OK", memcg_code: "Internal", compact_code: "Internal", reseed_empty_code: "InvalidArgument",
      reseed_code: "OK", swap_relative_code: "InvalidArgument", online_one_cpu_code: "OK",
    });
    expect(r!.memcg_message).toContain("mem-agent is disabled");
  }, 60_000);
});
