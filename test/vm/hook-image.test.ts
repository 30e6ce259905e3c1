// osbuilder-hook image mode (kata-agent-hook.sh --image, rootfs-image.sh) on scratch rootfs
// directories, no VM: the disk layout of the rootfs tree, and the image read back with independent
// tools (sfdisk, dumpe2fs, debugfs, e2fsck) and an independent check of the NVDIMM info block.
// The image boots for real in test/vm/image.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hookScript, isStaticElf } from "./initramfs.ts";
import { rootfsImageScript } from "./image.ts";
import { isRoot, missing } from "../helpers/require.ts";

const MiB = 1 << 20;
const scratch = mkdtempSync(join(tmpdir(), "kata-image-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const tools = ["sfdisk", "mkfs.ext4", "dumpe2fs", "debugfs", "e2fsck", process.env.CC ?? "cc"];
const absent = tools.filter((t) => !Bun.which(t));

function sh(argv: string[], env: Record<string, string> = {}): { code: number; out: string } {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}
function must(argv: string[], env: Record<string, string> = {}): string {
  const r = sh(argv, env);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${r.out}`);
  return r.out;
}

/** The one partition sfdisk reads from a partition table at `offset` of the image. */
function partition(image: string, offset: number): { start: number; size: number; type: string; id: string } {
  const table = join(scratch, `table-${offset}`);
  must(["dd", `if=${image}`, `of=${table}`, "bs=512", `skip=${offset / 512}`, "conv=sparse", "status=none"]);
  const dump = JSON.parse(must(["sfdisk", "--json", table])).partitiontable;
  expect(dump.label).toBe("dos");
  expect(dump.partitions).toHaveLength(1);
  return { ...dump.partitions[0], id: dump.id };
}

/** Linux's nd_sb_checksum: Fletcher-64 over 32-bit LE words of the 4 KiB block, checksum zeroed. */
function fletcher64(block: Buffer): bigint {
  const b = Buffer.from(block);
  b.fill(0, 4088);
  let lo = 0n;
  let hi = 0n;
  for (let i = 0; i < 4096; i += 4) {
    lo = (lo + BigInt(b.readUInt32LE(i))) & 0xffffffffn;
    hi = (hi + lo) & 0xffffffffn;
  }
  return (hi << 32n) | lo;
}

describe.skipIf(missing({ [`image tools (${absent.join(", ")})`]: absent.length === 0 }))("kata-agent-hook.sh --image", () => {
  const rootfs = join(scratch, "rootfs");
  const image = join(scratch, "out/kata-containers.img");
  let built = false;
  const build = () => {
    if (built) return;
    mkdirSync(join(rootfs, "etc"), { recursive: true });
    writeFileSync(join(rootfs, "etc/marker"), "image-marker\n");
    must([hookScript, rootfs, "--agent", "/bin/busybox", "--init", "yes", "--image", image]);
    built = true;
  };

  test("disk layout: /sbin/init is the static /proc shim, the agent is /sbin/kata-agent, /init -> /sbin/init", () => {
    build();
    expect(readFileSync(join(rootfs, "sbin/kata-agent")).equals(readFileSync("/bin/busybox"))).toBe(true);
    expect(readlinkSync(join(rootfs, "sbin/kata-agent-ctl"))).toBe("kata-agent");
    expect(readlinkSync(join(rootfs, "init"))).toBe("/sbin/init");
    expect(isStaticElf(join(rootfs, "sbin/init"))).toBe(true);
    expect(lstatSync(join(rootfs, "sbin/init")).size).toBeLessThan(64 * 1024);
    // The shim was built to exec the agent's path, not itself.
    expect(readFileSync(join(rootfs, "sbin/init")).includes("/sbin/kata-agent\0")).toBe(true);
  });

  test("Kata's layout: 128 MiB multiple, MBR #1 at 0 and MBR #2 at 2 MiB describe the same ext4 at 3 MiB", () => {
    build();
    const size = statSync(image).size;
    expect(size % (128 * MiB)).toBe(0);
    const first = partition(image, 0);
    const second = partition(image, 2 * MiB);
    expect(first.start * 512).toBe(3 * MiB);
    expect(second.start * 512).toBe(1 * MiB);
    expect(first.size).toBe(second.size);
    expect((first.start + first.size) * 512).toBe(size - 1 * MiB);
    expect([first.type, second.type]).toEqual(["83", "83"]);
    expect(second.id).toBe(first.id); // one PARTUUID through vda and pmem0
  });

  test("the NVDIMM PFN info block at 4 KiB: signature, RAM mode, 2 MiB data offset and alignment, valid checksum", () => {
    build();
    const block = readFileSync(image).subarray(4096, 8192);
    expect(block.toString("latin1", 0, 16)).toBe("NVDIMM_PFN_INFO\0");
    expect(block.subarray(16, 48).every((b) => b === 0)).toBe(true); // uuid, parent_uuid
    expect(block.readUInt16LE(52)).toBe(1); // version_major
    expect(block.readUInt16LE(54)).toBe(2); // version_minor
    expect(block.readBigUInt64LE(56)).toBe(BigInt(2 * MiB)); // dataoff
    expect(block.readBigUInt64LE(64)).toBe(BigInt((statSync(image).size - 2 * MiB) / 4096)); // npfns
    expect(block.readUInt32LE(72)).toBe(1); // PFN_MODE_RAM
    expect(block.readUInt32LE(84)).toBe(2 * MiB); // align
    expect(block.readBigUInt64LE(4088)).toBe(fletcher64(block));
  });

  test("the filesystem: ext4, 4 KiB blocks (DAX), 3 % reserved, journal, clean, holds the rootfs", () => {
    build();
    const part = partition(image, 0);
    const fs = join(scratch, "fs.img");
    must(["dd", `if=${image}`, `of=${fs}`, "bs=512", `skip=${part.start}`, `count=${part.size}`, "conv=sparse", "status=none"]);
    const header = must(["dumpe2fs", "-h", fs]);
    const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, "m").exec(header)?.[1];
    expect(field("Block size")).toBe("4096");
    expect(field("Filesystem features")).toContain("has_journal");
    expect(field("Filesystem features")).toContain("extent");
    const reserved = Number(field("Reserved block count")) / Number(field("Block count"));
    expect(reserved).toBeGreaterThan(0.029);
    expect(reserved).toBeLessThan(0.031);
    expect(Number(field("Inode size"))).toBe(256);
    expect(sh(["e2fsck", "-fn", fs]).code).toBe(0);
    expect(must(["debugfs", "-R", "cat /etc/marker", fs])).toContain("image-marker");
    const stat = must(["debugfs", "-R", "stat /sbin/kata-agent", fs]);
    expect(stat).toMatch(/User:\s+0\s+Group:\s+0/);
    expect(stat).toMatch(/Size: \d+/);
    expect(Number(/Size: (\d+)/.exec(stat)![1])).toBe(statSync("/bin/busybox").size);
  });

  test("ROOT_FREE_SPACE adds free space and rounds up to the next 128 MiB", () => {
    const dir = join(scratch, "small");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "f"), "x");
    must([rootfsImageScript, dir, join(scratch, "small.img")]);
    expect(statSync(join(scratch, "small.img")).size).toBe(128 * MiB);
    must([rootfsImageScript, dir, join(scratch, "big.img")], { ROOT_FREE_SPACE: "200" });
    expect(statSync(join(scratch, "big.img")).size).toBe(256 * MiB);
  });

  test.each([
    [{ ROOT_FREE_SPACE: "lots" }, /ROOT_FREE_SPACE must be a number/],
    [{ BLOCK_SIZE: "8192" }, /BLOCK_SIZE must be 1024, 2048 or 4096/],
    [{ IMAGE_ALIGN_MB: "0" }, /IMAGE_ALIGN_MB must be a positive number/],
  ])("rootfs-image.sh %p fails with a clear message and leaves no image", (env, message) => {
    const out = join(scratch, "never.img");
    const r = sh([rootfsImageScript, rootfs, out], env as Record<string, string>);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(message);
    expect(() => statSync(out)).toThrow();
  });

  test.skipIf(missing({ root: isRoot, unshare: Bun.which("unshare") !== null }))(
    "the disk-layout shim execs /sbin/kata-agent, mounting /proc only when it is missing (never a second proc mount)",
    () => {
      // A chroot whose "agent" is a script counting the proc mounts on /proc.
      const dir = join(scratch, "shimroot");
      mkdirSync(join(dir, "bin"), { recursive: true });
      mkdirSync(join(dir, "proc"), { recursive: true });
      must(["cp", "/bin/busybox", join(dir, "bin/busybox")]);
      for (const applet of ["sh", "awk", "wc"]) must(["ln", "-sf", "busybox", join(dir, "bin", applet)]);
      const agent = join(scratch, "count-proc.sh");
      const count = String.raw`awk '$2 == "/proc" && $3 == "proc"' /proc/mounts | wc -l`;
      // Like Bun, it refuses to start (exit 1) with a BUN_JSC_* option it does not know.
      const refuse = `if [ -n "$BUN_JSC_bogus" ]; then echo "error: invalid JSC environment variable"; exit 1; fi`;
      writeFileSync(agent, `#!/bin/sh\n${refuse}\n[ "$1" = --version ] && { echo "fake-agent 1.0"; exit 0; }\n` +
        `echo "agent argv0=$0 args=$* proc_mounts=$(${count}) ok=$BUN_JSC_ok dfg=$BUN_JSC_useDFGJIT warm=$BUN_JSC_useWarmUpMarkedBlocks"\n`, { mode: 0o755 });
      must([hookScript, dir, "--agent", agent, "--init", "yes", "--image", join(scratch, "shimroot.img")]);
      const inNs = (script: string) => must(["unshare", "-m", "--propagation", "private", "sh", "-c", script]);
      // Without /proc (how the kernel starts /sbin/init): the shim mounts it.
      expect(inNs(`chroot ${dir} /sbin/init vsock-cat 1 1026`)).toContain("agent argv0=/sbin/kata-agent args=vsock-cat 1 1026 proc_mounts=1");
      // With /proc mounted (a later `/sbin/init vsock-cat …`): it stays one mount.
      expect(inNs(`mount -t proc proc ${dir}/proc && chroot ${dir} /sbin/init x`)).toContain("proc_mounts=1");
      // The agent runs without the DFG JIT tier and the heap's warm-up thread; a value already in
      // the environment is kept, each default on its own.
      expect(inNs(`env -u BUN_JSC_useDFGJIT chroot ${dir} /sbin/init x`)).toMatch(/dfg=0 warm=0$/m);
      expect(inNs(`BUN_JSC_useDFGJIT=1 chroot ${dir} /sbin/init x`)).toMatch(/dfg=1 warm=0$/m);
      expect(inNs(`BUN_JSC_useWarmUpMarkedBlocks=1 chroot ${dir} /sbin/init x`)).toMatch(/dfg=0 warm=1$/m);
      // A name that only starts like a default's is not that default.
      expect(inNs(`BUN_JSC_useDFGJITX=1 chroot ${dir} /sbin/init x`)).toMatch(/dfg=0 warm=0$/m);
      // As PID 1 (a new pid namespace), BUN_JSC_* options of the environment's own are tried with
      // `--version` first: an option the agent refuses is dropped (with all the others) and said
      // so, instead of the agent exiting and the kernel panicking; good ones are kept.
      const asPid1 = (env: string) => must(["sh", "-c", `${env} unshare -m -p -f --propagation private chroot ${dir} /sbin/init x`]);
      const refused = asPid1("BUN_JSC_bogus=1 BUN_JSC_ok=1");
      expect(refused).toContain("error: invalid JSC environment variable");
      expect(refused).toContain("init-shim: the agent does not start with the BUN_JSC_* options in its environment");
      expect(refused).toMatch(/agent argv0=\/sbin\/kata-agent args=x proc_mounts=1 ok= dfg=0 warm=0$/m);
      const accepted = asPid1("BUN_JSC_ok=1");
      expect(accepted).toContain("fake-agent 1.0");
      expect(accepted).not.toContain("init-shim:");
      expect(accepted).toMatch(/ok=1 dfg=0 warm=0$/m);
      // Without options of its own there is no trial run; and not as PID 1 nothing is checked.
      expect(asPid1("")).not.toContain("fake-agent 1.0");
      expect(sh(["sh", "-c", `BUN_JSC_bogus=1 unshare -m --propagation private chroot ${dir} /sbin/init x`]).out).toContain("invalid JSC environment variable");
    },
  );

  test("--image with --init yes --init-shim no is refused: the kernel would start a Bun binary before /proc exists", () => {
    const dir = join(scratch, "noshim");
    mkdirSync(dir, { recursive: true });
    const r = sh([hookScript, dir, "--agent", "/bin/busybox", "--init", "yes", "--init-shim", "no", "--image", join(scratch, "noshim.img")]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/needs the shim/);
  });
});
