// Builds the VM test's initramfs: busybox applets, the vsock modules, the pre-init script, the
// guest test script, a busybox container bundle, and the agent installed by our osbuilder hook (AGENT_INIT=yes, so the agent is
// /sbin/init), packed by the same hook into a gzip'd newc cpio.
//
// Boot it with `rdinit=/pre-init` on the kernel cmdline: the kernel then runs our pre-init instead
// of /init (which the hook points at /sbin/init, as in a real Kata initrd), and pre-init execs
// /sbin/init once the modules are loaded.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installModules, repoRoot, VSOCK_MODULES, type HostKernel } from "./kernel.ts";
import { minimalOciConfig } from "../../src/ctl/oci-json.ts";

export const hookScript = join(repoRoot, "osbuilder-hook/kata-agent-hook.sh");
export const preInitScript = join(import.meta.dir, "pre-init.sh");
export const guestTestScript = join(import.meta.dir, "guest-test.sh");
const guestLibScript = join(import.meta.dir, "guest-lib.sh");

export interface InitramfsOptions {
  /** The agent binary (or a stand-in) to install as /sbin/init. */
  agent: string;
  kernel: HostKernel;
  /** Work directory; the rootfs and initrd.img are created in it (the rootfs is rebuilt). */
  outDir: string;
  /** Script started in the background by pre-init; null for none. Default: guest-test.sh. */
  guestScript?: string | null;
  modules?: string[];
  /** gzip level for the initrd (the hook's default is 6; 1 packs ~2x faster, a bit larger; 0 = none). */
  gzipLevel?: number;
  busybox?: string;
  /** Pack a rootfs disk image at this path instead of the initrd (the hook's --image). */
  image?: string;
  /** More files for the rootfs: path inside it -> host file (copied, mode 0755). */
  extraFiles?: Record<string, string>;
}

export interface Initramfs {
  rootfs: string;
  /** The initrd, or the disk image when `image` was asked for. */
  initrd: string;
  bytes: number;
  /** Module files in load order. */
  modules: string[];
  buildMs: number;
}

/** True for an ELF executable without a PT_INTERP program header (i.e. statically linked). */
export function isStaticElf(path: string): boolean {
  const b = readFileSync(path);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // ELF64 only
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (b.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

function run(argv: string[], env?: Record<string, string>): string {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  if (p.exitCode !== 0) {
    throw new Error(`${argv.join(" ")} failed (exit ${p.exitCode}):\n${p.stderr.toString()}${p.stdout.toString()}`);
  }
  return p.stdout.toString() + p.stderr.toString();
}

/** Where guest-test.sh finds the container bundle, and what it must observe. */
export const CONTAINER_BUNDLE = {
  dir: "/vmtest/bundle",
  /** cgroup v2 memory.max of the OOM container: small, so `tail /dev/zero` reaches it quickly. */
  memoryLimit: 32 << 20,
  cgroupsPath: "/vmtest/oom",
};

/**
 * A busybox bundle in the initramfs: rootfs/ (also used by the rootfs= container) and a
 * config.json like `runc spec` writes, running `tail /dev/zero` (it buffers one endless line, so it
 * allocates without bound) under a cgroup v2 memory limit. root.path is relative, as in runc bundles.
 */
function installContainerBundle(initramfsRoot: string, busybox: string): void {
  const bundle = join(initramfsRoot, CONTAINER_BUNDLE.dir);
  const rootfs = join(bundle, "rootfs");
  installBusybox(rootfs, busybox);
  for (const dir of ["proc", "dev", "sys", "tmp", "etc"]) mkdirSync(join(rootfs, dir), { recursive: true });
  const config = minimalOciConfig({ rootfs: "rootfs", args: ["tail", "/dev/zero"], hostname: "oom" });
  config.linux = {
    ...config.linux,
    cgroupsPath: CONTAINER_BUNDLE.cgroupsPath,
    resources: { ...config.linux?.resources, memory: { limit: CONTAINER_BUNDLE.memoryLimit } },
  };
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config, null, 2) + "\n");
  writeFileSync(join(bundle, "memory-limit"), `${CONTAINER_BUNDLE.memoryLimit}\n`);
  writeFileSync(join(bundle, "cgroup"), `${CONTAINER_BUNDLE.cgroupsPath.replace(/^\//, "")}\n`);
}

function installBusybox(rootfs: string, busybox: string): void {
  if (!isStaticElf(busybox)) throw new Error(`${busybox} is not a static ELF binary (install busybox-static)`);
  const bin = join(rootfs, "bin");
  mkdirSync(bin, { recursive: true });
  copyFileSync(busybox, join(bin, "busybox"));
  chmodSync(join(bin, "busybox"), 0o755);
  const applets = run([busybox, "--list"]).split("\n").map((s) => s.trim()).filter(Boolean);
  for (const applet of applets) {
    // "busybox" would replace the binary by a link to itself; init/linuxrc would shadow the
    // agent's role as init.
    if (applet === "busybox" || applet === "init" || applet === "linuxrc") continue;
    symlinkSync("busybox", join(bin, applet));
  }
}

export function buildInitramfs(opts: InitramfsOptions): Initramfs {
  const t0 = performance.now();
  if (!existsSync(opts.agent)) throw new Error(`agent binary ${opts.agent} does not exist`);
  const rootfs = join(opts.outDir, "rootfs");
  const initrd = join(opts.outDir, "initrd.img");
  rmSync(rootfs, { recursive: true, force: true });
  for (const dir of ["proc", "sys", "dev", "run", "tmp", "etc", "sbin", "usr/bin", "lib/modules/vmtest", "vmtest"]) {
    mkdirSync(join(rootfs, dir), { recursive: true });
  }
  chmodSync(join(rootfs, "tmp"), 0o1777);
  // The kernel opens /dev/console for init's stdio before anything mounts devtmpfs, and pre-init
  // unmounts its devtmpfs again before the hand-off: these nodes are what /dev holds meanwhile.
  run(["mknod", "-m", "600", join(rootfs, "dev/console"), "c", "5", "1"]);
  run(["mknod", "-m", "666", join(rootfs, "dev/null"), "c", "1", "3"]);
  writeFileSync(join(rootfs, "etc/hostname"), "vmtest\n");

  installBusybox(rootfs, opts.busybox ?? "/bin/busybox");
  installContainerBundle(rootfs, opts.busybox ?? "/bin/busybox");
  const modules = installModules(opts.kernel, opts.modules ?? VSOCK_MODULES, join(rootfs, "lib/modules/vmtest"));
  writeFileSync(join(rootfs, "lib/modules/vmtest/load-order"), modules.join("\n") + "\n");

  copyFileSync(preInitScript, join(rootfs, "pre-init"));
  chmodSync(join(rootfs, "pre-init"), 0o755);
  const guestScript = opts.guestScript === undefined ? guestTestScript : opts.guestScript;
  if (guestScript) {
    copyFileSync(guestScript, join(rootfs, "vmtest/guest-test.sh"));
    chmodSync(join(rootfs, "vmtest/guest-test.sh"), 0o755);
    // What every guest script sources: markers, ctl, the kernel cmdline, DestroySandbox.
    copyFileSync(guestLibScript, join(rootfs, "vmtest/guest-lib.sh"));
  }

  for (const [inside, host] of Object.entries(opts.extraFiles ?? {})) {
    copyFileSync(host, join(rootfs, inside));
    chmodSync(join(rootfs, inside), 0o755);
  }

  run([hookScript, rootfs, "--agent", opts.agent, ...(opts.image ? ["--image", opts.image] : ["--initrd", initrd])], {
    AGENT_INIT: "yes",
    INITRD_GZIP_LEVEL: String(opts.gzipLevel ?? 6),
  });
  const packed = opts.image ?? initrd;
  return { rootfs, initrd: packed, bytes: statSync(packed).size, modules, buildMs: performance.now() - t0 };
}
