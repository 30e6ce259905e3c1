// VM tests of the other Kata boot form: the agent's rootfs as a disk image (osbuilder hook --image),
// booted on q35 the way Kata's runtime boots it, once as a virtio-blk root (root=/dev/vda1) and
// once as an NVDIMM with DAX (root=/dev/pmem0p1 rootflags=dax), both read-only. Debian's kernel
// needs a loader initrd for the drivers (test/vm/image.ts). In the guest, boot-guest.sh checks:
// the first Check (static client), PID 1, the root mount (DAX when asked), a container run, and
// DestroySandbox powers the VM off. The initrd form is vm.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { extractVmlinux, findHostKernel, repoRoot, workDir } from "./kernel.ts";
import { buildInitramfs, isStaticElf, type Initramfs } from "./initramfs.ts";
import { bootVm, describeBoot, type BootResult } from "./qemu.ts";
import { buildLoaderInitrd, compileCheckClient, imageBoot, type RootForm } from "./image.ts";
import { missing as lacks } from "../helpers/require.ts";

const kernel = findHostKernel();
const tools = ["qemu-system-x86_64", "cpio", "xz", "sfdisk", "mkfs.ext4", process.env.CC ?? "cc"];
const absent = [
  ...tools.filter((t) => !Bun.which(t)),
  ...(kernel ? [] : ["/boot/vmlinuz-* with /lib/modules (linux-image-amd64)"]),
  ...(existsSync("/bin/busybox") && isStaticElf("/bin/busybox") ? [] : ["busybox-static"]),
];
const agentBinary = process.env.KATA_AGENT_BIN ?? join(repoRoot, "dist/kata-agent");
const BOOT_TIMEOUT_MS = 100_000;
const CHECKS = ["loader_modules", "agent_check", "pid1", "root_mount", "container_run"];

const measurements: string[] = [];
afterAll(() => {
  if (measurements.length) console.log(`[vm image tests] measurements (q35, 2 vCPU, TCG):\n  ${measurements.join("\n  ")}`);
});

function expectGood(r: BootResult): void {
  if (r.timedOut || r.kernelPanic || r.exitCode !== 0) throw new Error(`no clean power-off\n${describeBoot(r)}`);
  expect(r.lines.some((l) => l.text.includes("reboot: Power down"))).toBe(true);
  // DestroySandbox, not a failing guest, powered it off (the agent logs to the console here).
  expect(r.lines.some((l) => l.text.includes('"msg":"shutting down"') && l.text.includes('"reason":"DestroySandbox"'))).toBe(true);
  expect([...r.checks.values()].filter((c) => c.status === "fail")).toEqual([]);
  for (const name of CHECKS) {
    const c = r.checks.get(name);
    if (c?.status !== "ok") throw new Error(`check ${name}: ${c ? `${c.status} ${c.detail}` : "missing"}\n${describeBoot(r)}`);
  }
}

describe.skipIf(lacks({ [`VM boot (${absent.join(", ")})`]: absent.length === 0, [agentBinary]: existsSync(agentBinary) }))(
  `the agent booted from its rootfs disk image (${agentBinary})`,
  () => {
    let built: Initramfs | undefined;
    const outDir = join(workDir, "image");
    // One image for both forms, built by whichever test runs first.
    const agentImage = () =>
      (built ??= buildInitramfs({
        agent: agentBinary,
        kernel: kernel!,
        outDir,
        image: join(outDir, "kata-containers.img"),
        guestScript: join(import.meta.dir, "boot-guest.sh"),
        extraFiles: { "vmtest/check-client": compileCheckClient(join(workDir, "check-client")) },
      }));

    const boot = async (form: RootForm, extra: string[] = []) => {
      const t0 = performance.now();
      const image = agentImage();
      const how = imageBoot(form, image.initrd, buildLoaderInitrd(kernel!, form, outDir));
      const r = await bootVm({
        kernel: extractVmlinux(kernel!),
        cpus: 2,
        timeoutMs: BOOT_TIMEOUT_MS,
        ...how,
        append: [...how.append!, "vmtest.script=/vmtest/guest-test.sh", `vmtest.root_dax=${form === "dax" ? 1 : 0}`, "vmtest.wait=60", ...extra],
        consoleLog: join(outDir, `console-${form}.log`),
      });
      measurements.push(
        `${form}: image ${(image.bytes / 2 ** 20).toFixed(0)} MiB; from QEMU start: root mounted ${((r.facts.get("root_mounted_uptime")?.atMs ?? NaN) / 1000).toFixed(2)} s, ` +
          `first Check ${((r.checks.get("agent_check")?.atMs ?? NaN) / 1000).toFixed(2)} s, power-off ${(r.totalMs / 1000).toFixed(2)} s; ` +
          `MemAvailable after the first Check ${r.facts.get("mem_available_kb")?.value ?? "?"} kB; test ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      return r;
    };

    test(
      "virtio-blk root (root=/dev/vda1, ro): the agent is PID 1 via /sbin/init, answers Check, runs a container, powers off; an unknown BUN_JSC_ option on the cmdline is dropped",
      async () => {
        // With a JSC option Bun does not know on the kernel command line (init gets it in its
        // environment): Bun would exit at start, and PID 1 exiting panics the kernel. The shim
        // tries it with `--version`, drops it and says so, and the agent starts as usual.
        const r = await boot("blk", ["BUN_JSC_noSuchOption=1"]);
        expectGood(r);
        expect(r.checks.get("root_mount")!.detail).toMatch(/^\/dev\/vda1 \/ ext4 ro,/);
        const console = r.lines.map((l) => l.text).join("\n");
        expect(console).toContain("BUN_JSC_noSuchOption=1");
        expect(console).toContain("init-shim: the agent does not start with the BUN_JSC_* options in its environment");
      },
      BOOT_TIMEOUT_MS + 60_000,
    );

    test(
      "NVDIMM root with DAX (root=/dev/pmem0p1 rootflags=dax, readonly backend): the same, and the root is mounted dax",
      async () => {
        const r = await boot("dax");
        expectGood(r);
        expect(r.checks.get("root_mount")!.detail).toMatch(/^\/dev\/pmem0p1 \/ ext4 ro,.*dax/);
      },
      BOOT_TIMEOUT_MS + 60_000,
    );
  },
);
