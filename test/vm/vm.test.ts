// VM tests: boot the host's kernel under QEMU (TCG) with an initramfs whose PID 1 is the agent
// (installed by osbuilder-hook/kata-agent-hook.sh, AGENT_INIT=yes) and check it from inside the
// guest (test/vm/guest-test.sh), reading VMTEST markers from the serial console.
//
// Gates: booting needs qemu-system-x86_64, a /boot/vmlinuz-* with its modules, busybox-static,
// cpio, gzip, xz and a C compiler (the hook's /init shim); the agent boot also needs
// dist/kata-agent (or KATA_AGENT_BIN). What is missing is printed and named in the skipped tests.
// Env: VMTEST_MACHINE=pc boots the bzImage on -M pc instead of microvm; VMTEST_CPUS (default 2);
// VMTEST_STANDIN=1 also
// boots the stand-in agent (test/vm/standin), which only re-proves the pipeline the agent boot proves.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { extractVmlinux, findHostKernel, locatePayload, repoRoot, resolveModuleOrder, VSOCK_MODULES, workDir } from "./kernel.ts";
import { buildInitramfs, CONTAINER_BUNDLE, isStaticElf, type Initramfs } from "./initramfs.ts";
import { bootVm, describeBoot, parseMarker, type BootResult, type Machine } from "./qemu.ts";
import { compileStandin } from "./standin/build.ts";
import { loadBundleSpec } from "../../src/ctl/oci-json.ts";
import { missing as lacks } from "../helpers/require.ts";

const kernel = findHostKernel();
const tools = ["qemu-system-x86_64", "cpio", "gzip", "xz", process.env.CC ?? "cc"];
const missing = [
  ...tools.filter((t) => !Bun.which(t)),
  ...(kernel ? [] : ["/boot/vmlinuz-* with /lib/modules (linux-image-amd64)"]),
  ...(existsSync("/bin/busybox") && isStaticElf("/bin/busybox") ? [] : ["busybox-static"]),
];
const canBoot = missing.length === 0;
const agentBinary = process.env.KATA_AGENT_BIN ?? join(repoRoot, "dist/kata-agent");
const hasAgent = existsSync(agentBinary);
const bootSkip = canBoot ? "" : ` [SKIPPED: missing ${missing.join(", ")}]`;
const agentSkip = bootSkip || (hasAgent ? "" : ` [SKIPPED: no ${agentBinary}; run bun build.ts]`);
if (agentSkip) console.warn(`[vm tests] agent boot${agentSkip}`);
const withStandin = process.env.VMTEST_STANDIN === "1";
const machine = (process.env.VMTEST_MACHINE ?? "microvm") as Machine;
// Two vCPUs (MTTCG: one host thread each) let the ctl processes start while the agent works:
// the agent boot took 11.6 s instead of 15.4 s on this 2-core machine.
const cpus = Number(process.env.VMTEST_CPUS ?? 2);
// A normal agent boot takes ~15-25 s here; a stalled guest is killed at this point and the test fails.
const BOOT_TIMEOUT_MS = 100_000;
const DEBUG_CONSOLE_VPORT = 1026;
const LOG_VPORT = 1025;
// Every check the agent boot must pass; the guest prints each one exactly once.
const AGENT_CHECKS = [
  "modules", "agent_check", "pid1", "cgroup2", "container_lifecycle", "container_oom", "debug_console", "log_vport", "destroy_sandbox",
];

const measurements: string[] = [];
afterAll(() => {
  if (measurements.length) console.log(`[vm tests] measurements (${machine}, ${cpus} vCPU, TCG):\n  ${measurements.join("\n  ")}`);
});
function measured(line: string): void {
  measurements.push(line);
  console.log(`[vm tests] ${line}`);
}
const secs = (ms: number | undefined) => (ms === undefined ? "n/a" : `${(ms / 1000).toFixed(2)} s`);

/** "name +1.2" per check, the time since the previous marker: where a slow boot spent it. */
function checkDurations(r: BootResult): string {
  let prev = r.firstMarkerMs ?? 0;
  return [...r.checks.values()]
    .sort((a, b) => a.atMs - b.atMs)
    .map((c) => {
      const d = c.atMs - prev;
      prev = c.atMs;
      return `${c.name} +${(d / 1000).toFixed(1)}`;
    })
    .join(", ");
}

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

describe.skipIf(lacks({ [`VM boot (${missing.join(", ")})`]: canBoot }))(`guest kernel from the host${bootSkip}`, () => {
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

describe.skipIf(lacks({ [`VM boot (${missing.join(", ")})`]: canBoot, [agentBinary]: hasAgent }))(`VM with the agent as PID 1 (${agentBinary})${agentSkip}`, () => {
  // Built once, by whichever test needs it first (a hook would show up as an "(unnamed)" skip).
  // Uncompressed: 2x the size, but under TCG the guest kernel inflating ~60 MiB of gzip costs
  // ~1.3 s of boot, and packing is ~1.5 s faster too.
  let built: Initramfs | undefined;
  const agentInitramfs = () => (built ??= buildInitramfs({ agent: agentBinary, kernel: kernel!, outDir: join(workDir, "agent"), gzipLevel: 0 }));

  test("the initramfs carries the busybox bundle the agent reads: OOM container's memory limit and cgroup", () => {
    // What agent-ctl's bundle= form turns into the CreateContainer request, read on the host.
    const initramfs = agentInitramfs();
    const spec = loadBundleSpec(join(initramfs.rootfs, CONTAINER_BUNDLE.dir));
    expect(spec.Root?.Path).toBe(join(initramfs.rootfs, CONTAINER_BUNDLE.dir, "rootfs"));
    expect(Number(spec.Linux?.Resources?.Memory?.Limit)).toBe(CONTAINER_BUNDLE.memoryLimit);
    expect(spec.Linux?.CgroupsPath).toBe(CONTAINER_BUNDLE.cgroupsPath);
    expect(spec.Process?.Args).toEqual(["tail", "/dev/zero"]);
    expect(isStaticElf(join(initramfs.rootfs, CONTAINER_BUNDLE.dir, "rootfs/bin/busybox"))).toBe(true);
  });

  test(
    "in the guest: Check, PID 1, cgroup2, a busybox container's life, an OOM-killed container, debug console, log vport, DestroySandbox powers off",
    async () => {
      const t0 = performance.now();
      const initramfs = agentInitramfs();
      const r = await bootVm({
        kernel: guestKernel(),
        initrd: initramfs.initrd,
        machine,
        cpus,
        timeoutMs: BOOT_TIMEOUT_MS,
        append: [
          "vmtest.mode=agent",
          "vmtest.wait=60", // the guest gives up on the agent (and powers off) before our hard kill
          "agent.debug_console",
          `agent.debug_console_vport=${DEBUG_CONSOLE_VPORT}`,
          `agent.log_vport=${LOG_VPORT}`,
        ],
        consoleLog: join(workDir, "agent/console.log"),
      });
      const firstCheck = r.checks.get("agent_check")?.atMs;
      const agentStart = r.lines.find((l) => l.text.includes('"msg":"starting kata-agent"'))?.ms;
      measured(
        `agent: initrd ${(initramfs.bytes / 1048576).toFixed(1)} MiB (built in ${(initramfs.buildMs / 1000).toFixed(1)} s); from QEMU start: ` +
          `first marker ${secs(r.firstMarkerMs ?? undefined)}, agent's first log line ${secs(agentStart)}, ` +
          `first Check answered ${secs(firstCheck)} (${r.facts.get("attempts")?.value ?? "?"} attempts), ` +
          `guest checks done ${secs(r.facts.get("guest_script_done_uptime")?.atMs)}, power-off ${secs(r.totalMs)}; ` +
          `boot test ${((performance.now() - t0) / 1000).toFixed(1)} s; each check (s): ${checkDurations(r)}`,
      );
      expectCleanPowerOff(r);
      for (const name of AGENT_CHECKS) expectCheck(r, name);
      // With agent.log_vport the agent's logs go to the vport, not the console: the debug
      // console's connection was logged (log_vport saw it) but never reached the console.
      expect(r.lines.filter((l) => l.text.includes('"msg":"debug console connection"'))).toEqual([]);
    },
    BOOT_TIMEOUT_MS + 30_000,
  );

  test(
    "a guest that stalls is killed at the hard timeout, and the boot check fails instead of hanging",
    async () => {
      const t0 = performance.now();
      const timeoutMs = 10_000; // the stall marker comes ~3.5 s after QEMU starts here
      const r = await bootVm({ kernel: guestKernel(), initrd: agentInitramfs().initrd, machine, cpus, timeoutMs, append: ["vmtest.stall=1"] });
      const elapsed = performance.now() - t0;
      expect(r.facts.has("stalled_uptime")).toBe(true); // it was alive, then hung as PID 1
      expect(r.timedOut).toBe(true);
      expect(r.exitCode).toBeNull();
      expect(elapsed).toBeGreaterThanOrEqual(timeoutMs);
      expect(elapsed).toBeLessThan(timeoutMs + 3000);
      expect(() => expectCleanPowerOff(r)).toThrow(/no clean power-off[^]*timedOut=true/);
    },
    30_000,
  );
});

describe.skipIf(!canBoot || !withStandin)(`VM pipeline with the stand-in agent (test/vm/standin)${bootSkip || (withStandin ? "" : " [opt-in: VMTEST_STANDIN=1]")}`, () => {
  test(
    "boots through /init as PID 1, loads vsock, answers over vsock loopback, mounts cgroup2, powers off",
    async () => {
      const t0 = performance.now();
      const standin = compileStandin(join(workDir, "standin/kata-agent-standin"));
      const initramfs = buildInitramfs({ agent: standin, kernel: kernel!, outDir: join(workDir, "standin"), gzipLevel: 0 });
      const r = await bootVm({
        kernel: guestKernel(),
        initrd: initramfs.initrd,
        machine,
        cpus,
        timeoutMs: BOOT_TIMEOUT_MS,
        append: ["vmtest.mode=standin"],
        consoleLog: join(workDir, "standin/console.log"),
      });
      expectCleanPowerOff(r);
      for (const name of ["modules", "agent_check", "pid1", "cgroup2", "destroy_sandbox"]) expectCheck(r, name);
      for (const name of ["container_lifecycle", "container_oom", "debug_console", "log_vport"]) expectCheck(r, name, "skip");
      expect(r.facts.get("standin_pid")?.value).toBe("1");
      // Kata's order: nothing is mounted when the agent starts except /proc (the shim's).
      expect(r.facts.get("standin_premounted")?.value).toBe("proc");
      expect(r.facts.get("standin_mounted")?.value).toBe("sysfs,devtmpfs,cgroup2");
      expect(r.facts.get("standin_poweroff")?.value).toBe("yes");
      measured(
        `stand-in: initrd ${(initramfs.bytes / 1048576).toFixed(1)} MiB (built in ${(initramfs.buildMs / 1000).toFixed(1)} s), ` +
          `QEMU start -> first marker ${secs(r.firstMarkerMs ?? undefined)}, -> first Check ${secs(r.checks.get("agent_check")?.atMs)}, ` +
          `-> power-off ${secs(r.totalMs)}; whole test ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    },
    BOOT_TIMEOUT_MS + 60_000,
  );
});
