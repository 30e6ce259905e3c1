// 8. VM: QEMU start → the agent (PID 1 of a TCG guest, installed by our osbuilder hook) answers its
// first Health.Check, using the VM harness of test/vm. The anchor is the same boot's first line
// from busybox: test/vm's pre-init is a busybox sh script running as PID 1 before it execs the
// agent, so "QEMU start → busybox userspace up" is measured in the very same VM.
// The Check is sent from inside the guest by kata-agent-ctl over vsock loopback (the host has no
// vhost-vsock), so the value includes starting that Bun client under TCG alongside the agent.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import type { Row } from "../lib/report.ts";
import { median } from "../lib/stats.ts";

interface Boot {
  busyboxMs: number;
  agentLogReadyMs: number | null;
  checkMs: number;
  totalMs: number;
}

function vmMissing(): string | null {
  for (const tool of ["qemu-system-x86_64", "cpio"]) if (!Bun.which(tool)) return `${tool} not installed`;
  if (!existsSync(join(import.meta.dir, "../../test/vm/qemu.ts"))) return "test/vm harness missing";
  return null;
}

export async function vmRows(ctx: BenchContext): Promise<Row[]> {
  const what = "VM: QEMU start → first Check (TCG)";
  const missing = vmMissing();
  if (missing) return [{ id: "vm_ready", what, unit: "ms", value: null, anchor: null, anchorName: "", na: missing }];
  // Imported lazily: the harness is another area's code and may change shape; a failure to load
  // it becomes this row's "n/a (why)", not a failed benchmark run.
  const { findHostKernel, extractVmlinux } = await import("../../test/vm/kernel.ts");
  const { buildInitramfs } = await import("../../test/vm/initramfs.ts");
  const { bootVm } = await import("../../test/vm/qemu.ts");
  const kernel = findHostKernel();
  if (!kernel) return [{ id: "vm_ready", what, unit: "ms", value: null, anchor: null, anchorName: "", na: "no /boot/vmlinuz-* with modules" }];
  ctx.progress("vm: building the initramfs");
  const initramfs = buildInitramfs({ agent: ctx.agentBin, kernel, outDir: join(ctx.work, "vm"), gzipLevel: 0 });
  const vmlinux = extractVmlinux(kernel);
  const boots: Boot[] = [];
  const n = pick(ctx, 1, 3);
  for (let i = 0; i < n; i++) {
    ctx.progress(`vm: boot ${i + 1}/${n}`);
    let agentLogReadyMs: number | null = null;
    const r = await bootVm({
      kernel: vmlinux,
      initrd: initramfs.initrd,
      machine: "microvm",
      cpus: 2,
      timeoutMs: 180_000,
      // Logs at Kata's default level on the console (later cmdline words win).
      append: ["vmtest.mode=agent", "agent.log=info"],
      consoleLog: join(ctx.work, `vm/console-${i}.log`),
      onLine: (line, ms) => {
        if (agentLogReadyMs === null && line.includes('"agent ready"')) agentLogReadyMs = ms;
      },
    });
    const busybox = r.facts.get("preinit_uptime")?.atMs;
    const check = r.checks.get("agent_check");
    if (busybox === undefined || !check || check.status !== "ok") {
      throw new Error(`VM boot ${i} gave no agent_check ok (timedOut=${r.timedOut}); console in ${join(ctx.work, `vm/console-${i}.log`)}`);
    }
    boots.push({ busyboxMs: busybox, agentLogReadyMs, checkMs: check.atMs, totalMs: r.totalMs });
  }
  const logged = boots.map((b) => b.agentLogReadyMs).filter((x): x is number => x !== null);
  return [{
    id: "vm_listening", what: "VM: QEMU start → agent logs \"agent ready\"", unit: "ms",
    value: logged.length ? median(logged) : null, anchor: median(boots.map((b) => b.busyboxMs)),
    anchorName: "same VM: busybox PID 1 first line", na: logged.length ? undefined : "no \"agent ready\" line on the console",
  }, {
    id: "vm_ready", what, unit: "ms",
    value: median(boots.map((b) => b.checkMs)), anchor: median(boots.map((b) => b.busyboxMs)),
    anchorName: "same VM: busybox PID 1 first line",
    note: "Check sent in-guest by kata-agent-ctl over vsock loopback; microvm, 2 vCPU, TCG",
    detail: { boots, initrdMiB: initramfs.bytes / 2 ** 20 },
  }];
}
