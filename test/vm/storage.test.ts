// A real shared filesystem in the guest: the host shares a directory as "kataShared" over 9p
// (QEMU -virtfs) and over virtio-fs (Debian's virtiofsd + vhost-user-fs-pci on a shared memfd
// memory backend, NUMA node, PCI machine); in the guest the agent gets the runtime's storage in
// CreateSandbox, mounts the share, and runs a container whose rootfs is the host's directory
// (test/vm/storage-guest.sh). Same gates as vm.test.ts; both boots use -M pc (PCI).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { findHostKernel, repoRoot, VSOCK_MODULES, workDir } from "./kernel.ts";
import { buildInitramfs, isStaticElf, type Initramfs } from "./initramfs.ts";
import { bootVm, describeBoot, type BootResult } from "./qemu.ts";
import { makeBusyboxRootfs } from "../fixtures/busybox.ts";
import { missing as lacks } from "../helpers/require.ts";

const kernel = findHostKernel();
const VIRTIOFSD = ["/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"].find((p) => existsSync(p));
const agentBinary = process.env.KATA_AGENT_BIN ?? join(repoRoot, "dist/kata-agent");
const canBoot = !!kernel && !!Bun.which("qemu-system-x86_64") && existsSync(agentBinary) && existsSync("/bin/busybox") && isStaticElf("/bin/busybox") &&
  ["cpio", "gzip", process.env.CC ?? "cc"].every((t) => Bun.which(t));
const SHARE_MODULES = [...VSOCK_MODULES, "virtio_pci", "9pnet_virtio", "9p", "virtiofs"];
const dir = join(workDir, "storage");
const share = join(dir, "share");
const CHECKS = ["share_agent", "share_mount", "share_container"];

let initramfs: Initramfs | undefined;
let token = "";
async function prepare(): Promise<Initramfs> {
  if (initramfs) return initramfs;
  rmSync(share, { recursive: true, force: true });
  const rootfs = await makeBusyboxRootfs(join(share, "hostfs/rootfs"));
  token = `host-token-${process.pid}-${Date.now()}`;
  writeFileSync(join(rootfs, "token"), `${token}\n`);
  initramfs = buildInitramfs({
    agent: agentBinary, kernel: kernel!, outDir: join(dir, "initramfs"), gzipLevel: 0,
    guestScript: join(import.meta.dir, "storage-guest.sh"), modules: SHARE_MODULES,
  });
  return initramfs;
}

function boot(kind: "9p" | "virtio-fs", extraArgs: string[]): Promise<BootResult> {
  return bootVm({
    kernel: kernel!.bzImage, initrd: initramfs!.initrd, machine: "pc", cpus: 2, memoryMiB: 1024, timeoutMs: 150_000,
    append: [`vmtest.share=${kind}`, `vmtest.token=${token}`], extraArgs, consoleLog: join(dir, `${kind}-console.log`),
  });
}

function expectShare(r: BootResult): void {
  for (const c of CHECKS) {
    const got = r.checks.get(c);
    if (got?.status !== "ok") throw new Error(`check ${c}: ${got ? `${got.status} ${got.detail}` : "nothing"}\n${describeBoot(r)}`);
  }
  // DestroySandbox released the share (the agent logs to the console here) and powered off.
  const released = r.lines.some((l) => l.text.includes('"msg":"storage released"') && l.text.includes('"mount_point":"/run/kata-containers/shared/containers"'));
  if (!released || !r.lines.some((l) => l.text.includes("reboot: Power down"))) throw new Error(`DestroySandbox did not release the share and power off\n${describeBoot(r)}`);
}

const procs: Subprocess[] = [];
afterAll(() => {
  for (const p of procs) p.kill(9);
});

describe.skipIf(lacks({ "VM boot (qemu, kernel, busybox-static, dist/kata-agent)": canBoot }))("shared filesystem in the guest", () => {
  test("9p: CreateSandbox mounts kataShared, a container runs from the host's directory", async () => {
    await prepare();
    const r = await boot("9p", ["-virtfs", `local,path=${share},mount_tag=kataShared,security_model=none,id=kshare`]);
    expectShare(r);
    expect(r.checks.get("share_mount")?.detail).toContain(" 9p ");
  }, 200_000);

  test.skipIf(!VIRTIOFSD && !process.env.CI)("virtio-fs: virtiofsd + vhost-user-fs-pci, the same container", async () => {
    if (!VIRTIOFSD) throw new Error("virtiofsd not found in /usr/lib/qemu or /usr/libexec (qemu-system-common)");
    await prepare();
    const sock = join(dir, "virtiofsd.sock");
    rmSync(sock, { force: true });
    mkdirSync(dir, { recursive: true });
    const d = Bun.spawn([VIRTIOFSD, `--socket-path=${sock}`, "-o", `source=${share}`, "-o", "cache=auto", "-o", "sandbox=chroot"], { stdout: "pipe", stderr: "pipe" });
    procs.push(d);
    for (let i = 0; i < 100 && !existsSync(sock); i++) await Bun.sleep(50);
    const r = await boot("virtio-fs", [
      "-object", "memory-backend-memfd,id=mem,size=1024M,share=on", "-numa", "node,memdev=mem",
      "-chardev", `socket,id=vfs,path=${sock}`, "-device", "vhost-user-fs-pci,chardev=vfs,tag=kataShared",
    ]);
    d.kill();
    const err = await new Response(d.stderr).text();
    if (r.checks.get("share_mount")?.status !== "ok") throw new Error(`virtiofsd stderr:\n${err}\n${describeBoot(r)}`);
    expectShare(r);
    expect(r.checks.get("share_mount")?.detail).toContain(" virtiofs ");
  }, 200_000);
});
