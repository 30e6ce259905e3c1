// VM tests: boot the host's kernel under QEMU (TCG) with an initramfs whose PID 1 is the agent
// (installed by osbuilder-hook/kata-agent-hook.sh, AGENT_INIT=yes) and check it from inside the
// guest (test/vm/guest-test.sh), reading VMTEST markers from the serial console.
//
// Gates: everything needs qemu-system-x86_64, a /boot/vmlinuz-* with its modules, busybox-static,
// cpio, gzip, xz and a C compiler (the hook's /init shim). The real-agent test also needs
// dist/kata-agent. Env: VMTEST_MACHINE=pc boots the bzImage on -M pc instead of microvm;
// VMTEST_PENDING=1 runs the guest checks whose agent side is still being written.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { extractVmlinux, findHostKernel, locatePayload, repoRoot, resolveModuleOrder, VSOCK_MODULES, workDir } from "./kernel.ts";
import { buildInitramfs, isStaticElf } from "./initramfs.ts";
import { bootVm, describeBoot, parseMarker, type BootResult, type Machine } from "./qemu.ts";
import { compileStandin } from "./standin/build.ts";

const kernel = findHostKernel();
const tools = ["qemu-system-x86_64", "cpio", "gzip", "xz", process.env.CC ?? "cc"];
const missing = [
  ...tools.filter((t) => !Bun.which(t)),
  ...(kernel ? [] : ["/boot/vmlinuz-* with /lib/modules"]),
  ...(existsSync("/bin/busybox") && isStaticElf("/bin/busybox") ? [] : ["busybox-static"]),
];
const canBoot = missing.length === 0;
if (!canBoot) console.warn(`[vm tests] skipped, missing: ${missing.join(", ")}`);
const agentBinary = process.env.KATA_AGENT_BIN ?? join(repoRoot, "dist/kata-agent");
const machine = (process.env.VMTEST_MACHINE ?? "microvm") as Machine;
const BOOT_TIMEOUT_MS = 150_000;

const measurements: string[] = [];
afterAll(() => {
  if (measurements.length) console.log(`[vm tests] measurements (${machine}, TCG):\n  ${measurements.join("\n  ")}`);
});

function guestKernel(): string {
  return machine === "microvm" ? extractVmlinux(kernel!) : kernel!.bzImage;
}

function expectCheck(r: BootResult, name: string, status: "ok" | "skip" = "ok"): void {
  const c = r.checks.get(name);
  if (c?.status !== status) throw new Error(`check ${name}: expected ${status}, got ${c ? `${c.status} ${c.detail}` : "nothing"}\n${describeBoot(r)}`);
}

function expectCleanPowerOff(r: BootResult): void {
  if (r.timedOut || r.kernelPanic || r.exitCode !== 0) throw new Error(`no clean power-off\n${describeBoot(r)}`);
  // "reboot: Power down" is the kernel's last word on a power-off; a panic or reboot says otherwise.
  expect(r.lines.some((l) => l.text.includes("reboot: Power down"))).toBe(true);
  const failed = [...r.checks.values()].filter((c) => c.status === "fail");
  if (failed.length) throw new Error(`failed guest checks\n${describeBoot(r)}`);
}

describe("VM harness pieces (no boot)", () => {
  test("parseMarker reads checks and facts, even behind other console output", () => {
    const into = { checks: new Map(), facts: new Map() };
    expect(parseMarker("[    1.23] random kernel line", 1, into)).toBe(false);
    expect(parseMarker("noise VMTEST pid1 ok /proc/1/exe=/sbin/init", 5, into)).toBe(true);
    expect(parseMarker("VMTEST cgroup2 fail no cgroup2", 6, into)).toBe(true);
    expect(parseMarker("VMTEST guest_script_start_uptime=5.30 mode=standin", 7, into)).toBe(true);
    expect(into.checks.get("pid1")).toEqual({ name: "pid1", status: "ok", detail: "/proc/1/exe=/sbin/init", atMs: 5 });
    expect(into.checks.get("cgroup2")?.status).toBe("fail");
    expect(into.facts.get("guest_script_start_uptime")?.value).toBe("5.30");
    expect(into.facts.get("mode")?.value).toBe("standin");
  });

  test("locatePayload rejects what is not a bzImage", () => {
    expect(() => locatePayload(Buffer.alloc(4096))).toThrow(/not a bzImage/);
    const fake = Buffer.alloc(8192);
    fake.write("HdrS", 0x202, "latin1");
    fake.writeUInt16LE(0x207, 0x206);
    expect(() => locatePayload(fake)).toThrow(/boot protocol/);
  });
});

describe.skipIf(!canBoot)("guest kernel from the host", () => {
  test("the bzImage payload decompresses to an ELF vmlinux (cached)", () => {
    const vmlinux = extractVmlinux(kernel!);
    const head = readFileSync(vmlinux).subarray(0, 20);
    expect(head.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(head.readUInt16LE(16)).toBe(2); // ET_EXEC: a kernel image, not a relocatable object
  });

  test("vsock modules resolve with dependencies before dependants", () => {
    const order = resolveModuleOrder(kernel!.modulesDir, VSOCK_MODULES).map((p) => p.replace(/^.*\//, "").replace(/\.ko.*$/, ""));
    for (const m of VSOCK_MODULES) expect(order).toContain(m);
    expect(order.indexOf("vsock")).toBeLessThan(order.indexOf("vmw_vsock_virtio_transport_common"));
    expect(order.indexOf("vmw_vsock_virtio_transport_common")).toBeLessThan(order.indexOf("vsock_loopback"));
    expect(order.indexOf("virtio")).toBeLessThan(order.indexOf("vmw_vsock_virtio_transport"));
    expect(() => resolveModuleOrder(kernel!.modulesDir, ["no_such_module_xyz"])).toThrow(/not in .*modules\.dep/);
  });
});

describe.skipIf(!canBoot)("VM pipeline with the stand-in agent (test/vm/standin)", () => {
  test(
    "boots through /init as PID 1, loads vsock, answers over vsock loopback, mounts cgroup2, powers off",
    async () => {
      const t0 = performance.now();
      const standin = compileStandin(join(workDir, "standin/kata-agent-standin"));
      const initramfs = buildInitramfs({ agent: standin, kernel: kernel!, outDir: join(workDir, "standin"), gzipLevel: 1 });
      const r = await bootVm({
        kernel: guestKernel(),
        initrd: initramfs.initrd,
        machine,
        timeoutMs: BOOT_TIMEOUT_MS,
        append: ["vmtest.mode=standin"],
        consoleLog: join(workDir, "standin/console.log"),
      });
      expectCleanPowerOff(r);
      for (const name of ["modules", "agent_check", "pid1", "cgroup2", "destroy_sandbox"]) expectCheck(r, name);
      for (const name of ["container_lifecycle", "debug_console", "log_vport"]) expectCheck(r, name, "skip");
      expect(r.facts.get("standin_pid")?.value).toBe("1");
      // Kata's order: nothing is mounted when the agent starts except /proc (the shim's).
      expect(r.facts.get("standin_premounted")?.value).toBe("proc");
      expect(r.facts.get("standin_mounted")?.value).toBe("sysfs,devtmpfs,cgroup2");
      expect(r.facts.get("standin_poweroff")?.value).toBe("yes");
      measurements.push(
        `stand-in: initrd ${(initramfs.bytes / 1048576).toFixed(1)} MiB (built in ${(initramfs.buildMs / 1000).toFixed(1)} s), ` +
          `QEMU start -> first marker ${(r.firstMarkerMs! / 1000).toFixed(2)} s, -> agent ready ${(r.facts.get("agent_ready_uptime")!.atMs / 1000).toFixed(2)} s, ` +
          `-> power-off ${(r.totalMs / 1000).toFixed(2)} s; whole test ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    },
    BOOT_TIMEOUT_MS + 60_000,
  );

  test(
    "a guest that does not finish in time is killed at the hard timeout",
    async () => {
      const initrd = join(workDir, "standin/initrd.img");
      if (!existsSync(initrd)) throw new Error("needs the stand-in initrd from the previous test");
      const t0 = performance.now();
      // 3 s is well before the guest's first marker (~5 s here): QEMU must be killed, not awaited.
      const r = await bootVm({ kernel: guestKernel(), initrd, machine, timeoutMs: 3000, append: ["vmtest.mode=standin"] });
      const elapsed = performance.now() - t0;
      expect(r.timedOut).toBe(true);
      expect(r.exitCode).toBeNull();
      expect(elapsed).toBeLessThan(10_000);
    },
    30_000,
  );
});

describe.skipIf(!canBoot || !existsSync(agentBinary))(`VM with the agent (${agentBinary})`, () => {
  test(
    "agent as PID 1: Check over vsock, cgroup2, guest checks, DestroySandbox powers off",
    async () => {
      const t0 = performance.now();
      const initramfs = buildInitramfs({ agent: agentBinary, kernel: kernel!, outDir: join(workDir, "agent"), gzipLevel: 1 });
      const r = await bootVm({
        kernel: guestKernel(),
        initrd: initramfs.initrd,
        machine,
        timeoutMs: BOOT_TIMEOUT_MS,
        append: ["vmtest.mode=agent", ...(process.env.VMTEST_PENDING === "1" ? ["vmtest.pending=1", "agent.debug_console", "agent.debug_console_vport=1026", "agent.log_vport=1025"] : [])],
        consoleLog: join(workDir, "agent/console.log"),
      });
      expectCleanPowerOff(r);
      for (const name of ["modules", "agent_check", "pid1", "cgroup2", "destroy_sandbox"]) expectCheck(r, name);
      measurements.push(
        `agent: initrd ${(initramfs.bytes / 1048576).toFixed(1)} MiB, first marker ${(r.firstMarkerMs! / 1000).toFixed(2)} s, ` +
          `agent ready ${((r.facts.get("agent_ready_uptime")?.atMs ?? NaN) / 1000).toFixed(2)} s, power-off ${(r.totalMs / 1000).toFixed(2)} s; ` +
          `whole test ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    },
    BOOT_TIMEOUT_MS + 60_000,
  );
});
