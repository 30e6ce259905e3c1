// The guest-resource RPCs through the compiled agent, with the requests the Kata runtime sends
// (kata-guest-integration notes §2.2 steps 6, 9, 15): OnlineCPUMem on a fake sysfs tree
// (KATA_AGENT_SYSFS) with a real container cgroup to refresh, MemHotplugByProbe, CreateSandbox's
// kernel_modules through a fake modprobe (KATA_AGENT_MODPROBE), AddSwapPath, ReseedRandomDev,
// the mem-agent calls, and GetMetrics parsed strictly.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { grpc } from "../../src/gen/index.ts";
import { realFilesystems } from "../../src/metrics/proc-parse.ts";
import { KATA_FAMILIES, parseExposition } from "../helpers/prom-parse.ts";
import { cgroupDirs, Code, failure, isRoot, rpc, startHarness, type Harness } from "./containers-harness.ts";
import { missing } from "../helpers/require.ts";

let h: Harness;
let sys = "";
const cpu = (...p: string[]) => join(sys, "devices/system/cpu", ...p);
const mem = (...p: string[]) => join(sys, "devices/system/memory", ...p);
const read = (p: string) => readFileSync(p, "utf8");

function put(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

/** A guest with cpu0 online and cpu1 hot-plugged but offline, one offline memory block. */
function resetSysfs(): void {
  mkdirSync(cpu("cpu0"), { recursive: true });
  put(cpu("cpu1", "online"), "0\n");
  put(cpu("online"), "0\n");
  put(mem("memory0", "online"), "1\n");
  put(mem("memory1", "online"), "0\n");
}

const FAKE_MODPROBE = `#!/bin/sh
echo "$@" >> "$(dirname "$0")/modprobe.log"
if [ "$2" = missing_mod ]; then echo "modprobe: FATAL: Module missing_mod not found" >&2; exit 1; fi
exit 0
`;
const FAKE_SWAPON = `#!/bin/sh
echo "$@" > "$(dirname "$0")/swapon.log"
`;

describe.skipIf(missing({ root: isRoot }))("guest resources", () => {
  beforeAll(async () => {
    h = await startHarness({
      env: (dir) => {
        sys = join(dir, "sys");
        mkdirSync(join(dir, "bin"));
        writeFileSync(join(dir, "bin/modprobe"), FAKE_MODPROBE);
        writeFileSync(join(dir, "bin/swapon"), FAKE_SWAPON);
        chmodSync(join(dir, "bin/modprobe"), 0o755);
        chmodSync(join(dir, "bin/swapon"), 0o755);
        return { KATA_AGENT_SYSFS: sys, KATA_AGENT_MODPROBE: join(dir, "bin/modprobe"), KATA_AGENT_SWAPON: join(dir, "bin/swapon") };
      },
    });
  });
  afterAll(async () => {
    // The last test destroys the sandbox (and with it the agent); stop() cleans up after failures.
    await h?.stop();
  });

  test("CreateSandbox: a module modprobe cannot load fails it; then the modules load with -v and their parameters", async () => {
    const bad = await failure(rpc(h.c, "CreateSandbox", {
      sandbox_id: "pod-res", hostname: "pod", kernel_modules: [{ name: "virtio_foo" }, { name: "missing_mod", parameters: ["x=1"] }],
    }));
    expect(bad.code).toBe(Code.INTERNAL);
    expect(bad.message).toContain("missing_mod");
    expect(bad.message).toContain("Module missing_mod not found");
    const empty = await failure(rpc(h.c, "CreateSandbox", { sandbox_id: "pod-res", kernel_modules: [{ name: "" }] }));
    expect(empty.code).toBe(Code.INVALID_ARGUMENT);
    expect(empty.message).toContain("kernel_modules[0].name");
    await rpc(h.c, "CreateSandbox", { sandbox_id: "pod-res", hostname: "pod", kernel_modules: [{ name: "nf_tables", parameters: ["a=1", "b=two"] }] });
    expect(read(join(h.dir, "bin/modprobe.log"))).toBe("-v virtio_foo\n-v missing_mod x=1\n-v nf_tables a=1 b=two\n");
  });

  test("OnlineCPUMem{nb_cpus:2, cpu_only:true, wait:true} onlines cpu1, waits for the kernel, refreshes the cpusets", async () => {
    resetSysfs();
    // A container with a cpuset, whose cgroup (and its parent) were narrowed to CPU 0 meanwhile.
    const spec = h.spec(["sleep", "1000"], { cid: "cpus" });
    spec.Linux!.Resources = { CPU: { Cpus: "1" } } as never;
    await h.create("cpus", spec);
    const dir = cgroupDirs(`${h.cgroupPrefix}/cpus`).find((d) => d.includes("/cpuset"));
    expect(dir).toBeDefined();
    const parent = join(dir!, "..");
    writeFileSync(join(dir!, "cpuset.cpus"), "0");
    writeFileSync(join(parent, "cpuset.cpus"), "0");
    // The fake kernel brings cpu1 up 300 ms later; meanwhile the agent keeps answering.
    setTimeout(() => writeFileSync(cpu("online"), "0-1\n"), 300);
    const t0 = performance.now();
    const call = rpc(h.c, "OnlineCPUMem", { wait: true, nb_cpus: 2, cpu_only: true });
    await Bun.sleep(100);
    const c0 = performance.now();
    await rpc(h.c, "GetGuestDetails", {});
    expect(performance.now() - c0).toBeLessThan(200);
    await call;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(read(cpu("cpu1", "online"))).toBe("1");
    expect(read(mem("memory1", "online"))).toBe("0\n"); // cpu_only
    expect(read(join(parent, "cpuset.cpus")).trim()).toBe("0-1");
    expect(read(join(dir!, "cpuset.cpus")).trim()).toBe("1");
    await h.removeQuietly("cpus");
  });

  test("OnlineCPUMem{wait:false, nb_cpus:0, cpu_only:false} (sent after every update) answers at once and onlines memory", async () => {
    resetSysfs();
    await rpc(h.c, "OnlineCPUMem", { wait: false, nb_cpus: 0, cpu_only: false });
    for (let i = 0; i < 50 && read(mem("memory1", "online")) !== "1"; i++) await Bun.sleep(20);
    expect(read(mem("memory1", "online"))).toBe("1");
    expect(read(cpu("cpu1", "online"))).toBe("0\n");
  });

  test("OnlineCPUMem{wait:false} returns before the CPUs are up; with wait:true a CPU that never comes fails after Kata's 5 s", async () => {
    resetSysfs();
    const t0 = performance.now();
    await rpc(h.c, "OnlineCPUMem", { wait: false, nb_cpus: 2, cpu_only: true });
    expect(performance.now() - t0).toBeLessThan(250);
    await Bun.sleep(150);
    writeFileSync(cpu("online"), "0-1\n");
    const t1 = performance.now();
    const f = await failure(rpc(h.c, "OnlineCPUMem", { wait: true, nb_cpus: 3, cpu_only: true }));
    expect(f.code).toBe(Code.INTERNAL);
    expect(f.message).toContain("failed to online 3 CPU(s) after 100 retries");
    expect(performance.now() - t1).toBeGreaterThan(4500);
  }, 15_000);

  test("MemHotplugByProbe writes each address to memory/probe; without the file it fails naming it", async () => {
    const f = await failure(rpc(h.c, "MemHotplugByProbe", { memHotplugProbeAddr: [0x100000000] }));
    expect(f.code).toBe(Code.FAILED_PRECONDITION);
    expect(f.message).toContain("memory/probe");
    put(mem("probe"), "");
    await rpc(h.c, "MemHotplugByProbe", { memHotplugProbeAddr: [0x100000000, 0x108000000] });
    expect(read(mem("probe"))).toBe("0x108000000");
  });

  test("AddSwapPath runs swapon on the path; an empty or relative path is refused", async () => {
    await rpc(h.c, "AddSwapPath", { path: "/run/kata-containers/swap/swapfile" });
    expect(read(join(h.dir, "bin/swapon.log"))).toBe("/run/kata-containers/swap/swapfile\n");
    expect((await failure(rpc(h.c, "AddSwapPath", { path: "" }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await failure(rpc(h.c, "AddSwapPath", { path: "swapfile" }))).message).toContain("not absolute");
  });

  test("ReseedRandomDev credits and reseeds; empty data is an error, as in Kata", async () => {
    await rpc(h.c, "ReseedRandomDev", { data: Buffer.alloc(64, 7) });
    const f = await failure(rpc(h.c, "ReseedRandomDev", { data: Buffer.alloc(0) }));
    expect(f.code).toBe(Code.INVALID_ARGUMENT);
    expect(f.message).toContain("data is empty");
  });

  test("MemAgentMemcgSet / MemAgentCompactSet answer as Kata with the mem-agent off", async () => {
    for (const m of ["MemAgentMemcgSet", "MemAgentCompactSet"] as const) {
      const f = await failure(rpc(h.c, m, {} as grpc.IMemAgentMemcgConfig));
      expect(f.code).toBe(Code.INTERNAL);
      expect(f.message).toContain("mem-agent is disabled");
    }
  });

  test("GetMetrics: strict exposition format, Kata's families, our RPC counters", async () => {
    const first = parseExposition((await rpc(h.c, "GetMetrics", {})).metrics ?? "");
    const second = parseExposition((await rpc(h.c, "GetMetrics", {})).metrics ?? "");
    const agentMounts = read(`/proc/${h.pid}/mountinfo`);
    for (const name of KATA_FAMILIES) {
      if (name.startsWith("kata_guest_filesystem") && realFilesystems(agentMounts).length === 0) continue;
      expect(second.get(name)?.samples.length ?? 0, name).toBeGreaterThan(0);
    }
    expect(second.get("kata_agent_scrape_count")!.samples[0]!.value).toBe(first.get("kata_agent_scrape_count")!.samples[0]!.value + 1);
    const calls = second.get("kata_agent_ts_rpc_calls_total")!.samples;
    const count = (method: string, code: string) => calls.find((s) => s.labels.method === `grpc.AgentService/${method}` && s.labels.code === code)?.value;
    expect(count("GetMetrics", "OK")).toBe(1); // the first scrape; this one is counted after it answers
    expect(count("OnlineCPUMem", "INTERNAL")).toBe(1);
    expect(count("MemAgentCompactSet", "INTERNAL")).toBe(1);
    expect(second.get("kata_agent_ts_ttrpc_connections")!.samples[0]!.value).toBeGreaterThanOrEqual(1);
    expect(second.get("kata_agent_ts_containers")!.samples[0]!.value).toBe(0);
    // The agent's threads are its own, not this test's.
    expect(second.get("kata_agent_threads")!.samples[0]!.value).toBe(Number(read(`/proc/${h.pid}/status`).match(/Threads:\s+(\d+)/)![1]));
  });

  test("DestroySandbox ends it", async () => {
    await rpc(h.c, "DestroySandbox", {});
    expect(await h.agent.proc.exited).toBe(0);
    expect(existsSync(`/proc/${h.pid}`)).toBe(false);
  });
});
