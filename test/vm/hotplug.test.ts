// CPU and memory hotplug under QEMU (TCG, -M pc: ACPI hotplug), with the agent as PID 1, and the
// pause container as containerd 2.x and the Kata runtime shape it (oomScoreAdj -998 needs the
// CAP_SYS_RESOURCE a guest agent has and a test host may lack). The guest side is
// test/vm/hotplug-guest.sh; when it prints `VMTEST hotplug_ready=1` this file plugs a CPU
// (query-hotpluggable-cpus + device_add) and a 256 MiB DIMM (object-add memory-backend-ram +
// device_add pc-dimm) over QMP; the guest then calls OnlineCPUMem as the runtime does and checks
// /sys/devices/system/cpu/online and MemTotal.
import { describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { extractVmlinux, findHostKernel, repoRoot, workDir } from "./kernel.ts";
import { buildInitramfs, isStaticElf } from "./initramfs.ts";
import { bootVm, describeBoot, type BootResult } from "./qemu.ts";
import { missing } from "../helpers/require.ts";
import { Qmp } from "./qmp.ts";

const kernel = findHostKernel();
const agentBinary = process.env.KATA_AGENT_BIN ?? join(repoRoot, "dist/kata-agent");
const canBoot = ["qemu-system-x86_64", "cpio", "gzip", "xz", process.env.CC ?? "cc"].every((t) => Bun.which(t)) &&
  !!kernel && existsSync("/bin/busybox") && isStaticElf("/bin/busybox");
const TIMEOUT_MS = 240_000;
const DIMM_BYTES = 256 << 20;

/** Plugs the free CPU slot and a DIMM; returns what was done, for the test's log. */
async function plug(qmpPath: string): Promise<string> {
  const q = await Qmp.connect(qmpPath);
  try {
    const slots = (await q.run("query-hotpluggable-cpus")) as { type: string; props: Record<string, number>; "qom-path"?: string }[];
    const free = slots.find((s) => !s["qom-path"]);
    if (!free) throw new Error(`no free CPU slot: ${JSON.stringify(slots)}`);
    await q.run("device_add", { driver: free.type, id: "cpu1", ...free.props });
    await q.run("object-add", { "qom-type": "memory-backend-ram", id: "mem1", size: DIMM_BYTES });
    await q.run("device_add", { driver: "pc-dimm", id: "dimm1", memdev: "mem1" });
    return `${free.type} ${JSON.stringify(free.props)} + pc-dimm ${DIMM_BYTES >> 20} MiB`;
  } finally {
    q.close();
  }
}

function expectCheck(r: BootResult, name: string): void {
  const c = r.checks.get(name);
  if (c?.status !== "ok") throw new Error(`check ${name}: ${c ? `${c.status} ${c.detail}` : "nothing"}\n${describeBoot(r)}`);
}

describe.skipIf(missing({ "VM boot (qemu, kernel, busybox-static, cc)": canBoot, [agentBinary]: existsSync(agentBinary) }))("VM: CPU and memory hotplug, pause container", () => {
  test("hot-plugged CPU and DIMM come online through OnlineCPUMem; the pause container runs as 65535 with oom_score_adj -998", async () => {
    const out = join(workDir, "hotplug");
    const initramfs = buildInitramfs({ agent: agentBinary, kernel: kernel!, outDir: out, gzipLevel: 0, guestScript: join(import.meta.dir, "hotplug-guest.sh") });
    const qmpPath = join(out, "qmp.sock");
    rmSync(qmpPath, { force: true });
    let plugged: Promise<string> | undefined;
    const r = await bootVm({
      kernel: extractVmlinux(kernel!),
      initrd: initramfs.initrd,
      machine: "pc",
      smp: "1,maxcpus=2",
      memory: "1024M,slots=2,maxmem=2G",
      extraArgs: ["-net", "none", "-qmp", `unix:${qmpPath},server=on,wait=off`],
      timeoutMs: TIMEOUT_MS,
      consoleLog: join(out, "console.log"),
      onLine: (text) => {
        if (!plugged && text.includes("VMTEST hotplug_ready=1")) plugged = plug(qmpPath);
      },
    });
    const what = plugged ? await plugged.catch((e: Error) => `plug failed: ${e.message}`) : "never asked to plug";
    console.log(`[vm hotplug] ${what}; ${["pause_container", "cpu_hotplug", "mem_hotplug", "mem_online_rpc"].map((n) => `${n}: ${r.checks.get(n)?.detail ?? "-"}`).join("; ")}; total ${(r.totalMs / 1000).toFixed(1)} s`);
    for (const name of ["agent_check", "pause_container", "cpu_hotplug", "mem_hotplug", "mem_online_rpc"]) expectCheck(r, name);
    expect(r.facts.has("destroy_sandbox_sent")).toBe(true);
    expect(r.checks.get("destroy_sandbox")).toBeUndefined(); // printed only when the call failed
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    expect(r.lines.some((l) => l.text.includes("reboot: Power down"))).toBe(true);
  }, TIMEOUT_MS + 60_000);
});
