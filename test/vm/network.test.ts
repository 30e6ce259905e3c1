// The network RPCs in a real guest: microvm with PCIe (`-M pcie=on`) and one virtio-net-pci NIC
// with a fixed MAC at slot 02 on a user-mode netdev with restrict=on (nothing leaves QEMU; the
// guest only configures and reads back). test/vm/guest-network.sh drives the agent with agent-ctl:
// `lo` is up (the agent as PID 1), UpdateInterface by MAC with devicePath "02" renames the NIC to
// pod0 and configures it (checked with busybox `ip`), UpdateRoutes, List*, an unknown MAC answers
// "Link not found", a NIC at devicePath with another MAC gets the requested one (Kata's VFIO case),
// GetIPTables without iptables in the image is FAILED_PRECONDITION, DestroySandbox powers off.
// Same gates as vm.test.ts.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { extractVmlinux, findHostKernel, repoRoot, VSOCK_MODULES, workDir } from "./kernel.ts";
import { buildInitramfs, isStaticElf } from "./initramfs.ts";
import { bootVm, describeBoot } from "./qemu.ts";
import { missing as lacks } from "../helpers/require.ts";

const kernel = findHostKernel();
const tools = ["qemu-system-x86_64", "cpio", "gzip", "xz", process.env.CC ?? "cc"];
const gaps = [
  ...tools.filter((t) => !Bun.which(t)),
  ...(kernel ? [] : ["/boot/vmlinuz-* with /lib/modules (linux-image-amd64)"]),
  ...(existsSync("/bin/busybox") && isStaticElf("/bin/busybox") ? [] : ["busybox-static"]),
];
const agentBinary = process.env.KATA_AGENT_BIN ?? join(repoRoot, "dist/kata-agent");
const MAC = "02:00:00:00:00:05";
const TIMEOUT_MS = 100_000;
// destroy_sandbox is not among them: the power-off it triggers can beat the guest script's marker
// on a loaded host; the "reboot: Power down" line (only DestroySandbox powers off) proves it.
const CHECKS = ["modules", "agent_check", "lo_up", "net_update_interface", "net_routes", "net_list", "net_link_not_found", "net_mac_by_pci", "net_iptables_missing"];

describe.skipIf(lacks({ [`VM boot (${gaps.join(", ")})`]: gaps.length === 0, [agentBinary]: existsSync(agentBinary) }))("VM: network RPCs on a virtio-net-pci NIC", () => {
  test(
    "lo up; UpdateInterface by MAC (devicePath 02) renames and configures the NIC; routes; List*; Link not found",
    async () => {
      const initramfs = buildInitramfs({
        agent: agentBinary, kernel: kernel!, outDir: join(workDir, "network"), gzipLevel: 0,
        modules: [...VSOCK_MODULES, "virtio_pci", "virtio_net"], guestScript: join(import.meta.dir, "guest-network.sh"),
      });
      const r = await bootVm({
        kernel: extractVmlinux(kernel!),
        initrd: initramfs.initrd,
        machine: "microvm",
        cpus: Number(process.env.VMTEST_CPUS ?? 2),
        timeoutMs: TIMEOUT_MS,
        append: [`vmtest.net_mac=${MAC}`, "vmtest.net_pci=02"],
        extraArgs: ["-M", "pcie=on", "-netdev", "user,id=n0,restrict=on", "-device", `virtio-net-pci,netdev=n0,mac=${MAC},addr=02.0`],
        consoleLog: join(workDir, "network/console.log"),
      });
      console.log(`[vm network] boot to power-off ${(r.totalMs / 1000).toFixed(1)} s; NIC was ${r.facts.get("net_name_before")?.value}`);
      if (r.timedOut || r.kernelPanic || r.exitCode !== 0) throw new Error(`no clean power-off\n${describeBoot(r)}`);
      for (const name of CHECKS) {
        const c = r.checks.get(name);
        if (c?.status !== "ok") throw new Error(`check ${name}: ${c ? `${c.status} ${c.detail}` : "missing"}\n${describeBoot(r)}`);
      }
      expect(r.lines.some((l) => l.text.includes("reboot: Power down"))).toBe(true);
      expect([...r.checks.values()].filter((c) => c.status !== "ok")).toEqual([]);
    },
    TIMEOUT_MS + 60_000,
  );
});
