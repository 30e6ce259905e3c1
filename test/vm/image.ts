// Boot forms beyond the initrd: the agent's rootfs as a Kata disk image (osbuilder hook --image),
// used as a virtio-blk root ("blk") or an NVDIMM with DAX ("dax"), plus the busybox guests the
// bench compares with, and the static Check client (check-client.c) the guests time the agent by.
//
// Debian's kernel has the block, ext4 and NVDIMM drivers as modules (CONFIG_VIRTIO_BLK=m,
// CONFIG_EXT4_FS=m, CONFIG_BLK_DEV_PMEM=m, CONFIG_ACPI_NFIT=m ...), so an image boot needs a small
// loader initrd (busybox + those modules + loader-init.sh) that mounts root= and switch_roots to
// /sbin/init; Kata's guest kernel builds them in and needs none.
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installModules, repoRoot, VSOCK_MODULES, type HostKernel } from "./kernel.ts";
import { isStaticElf } from "./initramfs.ts";
import type { BootOptions } from "./qemu.ts";

export type RootForm = "blk" | "dax";

/** What the loader insmods for each form (dependencies are resolved from modules.dep). */
export const ROOT_MODULES: Record<RootForm, string[]> = {
  // crc32c_generic: ext4's metadata checksums need it, a softdep modules.dep does not list.
  blk: ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"],
  dax: ["nfit", "nd_pmem", "crc32c_generic", "ext4"],
};

export const rootfsImageScript = join(repoRoot, "osbuilder-hook/rootfs-image.sh");
const here = import.meta.dir;

function run(argv: string[], env?: Record<string, string>): string {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (exit ${p.exitCode}):\n${p.stderr.toString()}${p.stdout.toString()}`);
  return p.stdout.toString() + p.stderr.toString();
}

/** Compiles test/vm/check-client.c into a static binary at `out` (rebuilt when the source is newer). */
export function compileCheckClient(out: string): string {
  const src = join(here, "check-client.c");
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return out;
  mkdirSync(join(out, ".."), { recursive: true });
  run([process.env.CC ?? "cc", "-Os", "-static", "-Wall", "-o", `${out}.tmp`, src]);
  run(["mv", "-f", `${out}.tmp`, out]);
  return out;
}

function installBusybox(root: string, busybox = "/bin/busybox"): void {
  if (!isStaticElf(busybox)) throw new Error(`${busybox} is not a static ELF binary (install busybox-static)`);
  mkdirSync(join(root, "bin"), { recursive: true });
  copyFileSync(busybox, join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  for (const applet of run([busybox, "--list"]).split("\n").map((s) => s.trim())) {
    if (applet && applet !== "busybox" && applet !== "init" && applet !== "linuxrc") symlinkSync("busybox", join(root, "bin", applet));
  }
  symlinkSync("bin", join(root, "sbin"));
}

function freshTree(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  for (const d of ["proc", "sys", "dev", "run", "tmp", "newroot"]) mkdirSync(join(dir, d), { recursive: true });
  run(["mknod", "-m", "600", join(dir, "dev/console"), "c", "5", "1"]);
  run(["mknod", "-m", "666", join(dir, "dev/null"), "c", "1", "3"]);
  return dir;
}

function packCpio(tree: string, out: string): string {
  run(["sh", "-c", `cd "${tree}" && find . | LC_ALL=C sort | cpio --quiet -H newc -o -R +0:+0 > "${out}.tmp" && mv -f "${out}.tmp" "${out}"`]);
  return out;
}

function installScript(src: string, dest: string): void {
  copyFileSync(src, dest);
  chmodSync(dest, 0o755);
}

/** The loader initrd for an image boot: busybox, the vsock + root modules, loader-init.sh as /pre-init. */
export function buildLoaderInitrd(kernel: HostKernel, form: RootForm, outDir: string): string {
  const tree = freshTree(join(outDir, `loader-${form}`));
  installBusybox(tree);
  const modules = installModules(kernel, [...VSOCK_MODULES, ...ROOT_MODULES[form]], join(tree, "modules"));
  writeFileSync(join(tree, "modules/load-order"), modules.join("\n") + "\n");
  installScript(join(here, "loader-init.sh"), join(tree, "pre-init"));
  // busybox switch_root refuses to run unless /init is a regular file (its proof that / is an
  // initramfs it may empty); the cmdline's rdinit=/pre-init starts the same script.
  installScript(join(here, "loader-init.sh"), join(tree, "init"));
  return packCpio(tree, join(outDir, `loader-${form}.img`));
}

/** The anchor for initrd boots: busybox as PID 1 with the agent initrd's modules, nothing else. */
export function buildBusyboxInitrd(kernel: HostKernel, outDir: string): string {
  const tree = freshTree(join(outDir, "busybox-initrd"));
  installBusybox(tree);
  const modules = installModules(kernel, VSOCK_MODULES, join(tree, "lib/modules/vmtest"));
  writeFileSync(join(tree, "lib/modules/vmtest/load-order"), modules.join("\n") + "\n");
  installScript(join(here, "busybox-init.sh"), join(tree, "pre-init"));
  return packCpio(tree, join(outDir, "busybox-initrd.img"));
}

/** The anchor for image boots: a disk image (same layout) whose /sbin/init is busybox-init.sh. */
export function buildBusyboxImage(outDir: string): string {
  const tree = freshTree(join(outDir, "busybox-image"));
  installBusybox(tree);
  rmSync(join(tree, "sbin"));
  mkdirSync(join(tree, "sbin"));
  installScript(join(here, "busybox-init.sh"), join(tree, "sbin/init"));
  const image = join(outDir, "busybox-rootfs.img");
  run([rootfsImageScript, tree, image]);
  return image;
}

/**
 * QEMU options that boot `image` as the root the way Kata's runtime does (q35; root=/dev/vda1 or
 * /dev/pmem0p1 with its rootflags; read-only), through `loader`.
 */
export function imageBoot(form: RootForm, image: string, loader: string, memoryMiB = 1024): Pick<BootOptions, "machine" | "memory" | "initrd" | "extraArgs" | "append"> {
  const imageMiB = Math.ceil(statSync(image).size / 2 ** 20);
  if (form === "blk") {
    return {
      machine: "q35",
      initrd: loader,
      memory: String(memoryMiB),
      extraArgs: ["-net", "none", "-drive", `file=${image},if=none,id=rootimg,format=raw,readonly=on`, "-device", "virtio-blk-pci,drive=rootimg"],
      append: ["root=/dev/vda1", "rootflags=data=ordered,errors=remount-ro", "ro", "rootfstype=ext4"],
    };
  }
  return {
    machine: "q35",
    initrd: loader,
    memory: `${memoryMiB}M,slots=2,maxmem=${memoryMiB + imageMiB + 1024}M`,
    extraArgs: [
      "-net", "none", // else q35 adds an e1000e NIC and its iPXE ROM
      "-machine", "nvdimm=on",
      "-object", `memory-backend-file,id=rootmem,mem-path=${image},size=${imageMiB}M,readonly=on`,
      "-device", "nvdimm,id=rootnv,memdev=rootmem,unarmed=on",
    ],
    append: ["root=/dev/pmem0p1", "rootflags=dax,data=ordered,errors=remount-ro", "ro", "rootfstype=ext4"],
  };
}
