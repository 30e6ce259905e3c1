// osbuilder-hook/kata-agent-hook.sh on scratch rootfs directories (no VM, no root needed except
// for nothing: it only writes files). The "agent" is a small dynamic system binary, so ldd has
// libraries to report, or busybox-static for the static case.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hookScript, isStaticElf } from "./initramfs.ts";
import { missing } from "../helpers/require.ts";

const dynamicAgent = "/usr/bin/env"; // any dynamic ELF will do; the hook does not run it
const scratch = mkdtempSync(join(tmpdir(), "kata-hook-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
function freshRootfs(): string {
  const dir = join(scratch, `rootfs-${++counter}`);
  mkdirSync(dir);
  return dir;
}

function hook(args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  const clean = { ...process.env };
  delete clean.AGENT_INIT;
  delete clean.AGENT_INIT_SHIM;
  delete clean.AGENT_SOURCE_BIN;
  const p = Bun.spawnSync([hookScript, ...args], { env: { ...clean, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}

function mustHook(args: string[], env: Record<string, string> = {}): string {
  const r = hook(args, env);
  if (r.code !== 0) throw new Error(`hook failed (${r.code}): ${r.out}`);
  return r.out;
}

/** path -> "L <target>" | "F <sha256> <mode>" | "D" for every entry under dir: a tree fingerprint. */
function snapshot(dir: string, rel = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = join(rel, name);
    const st = lstatSync(join(dir, p));
    if (st.isSymbolicLink()) out.set(p, `L ${readlinkSync(join(dir, p))}`);
    else if (st.isDirectory()) {
      out.set(p, "D");
      for (const [k, v] of snapshot(dir, p)) out.set(k, v);
    } else out.set(p, `F ${createHash("sha256").update(readFileSync(join(dir, p))).digest("hex")} ${(st.mode & 0o777).toString(8)}`);
  }
  return out;
}

function lddPaths(bin: string): string[] {
  const out = Bun.spawnSync(["ldd", bin]).stdout.toString();
  return [...out.matchAll(/(?:=> )?(\/\S+) \(0x/g)].map((m) => m[1]);
}

const haveCc = Bun.which(process.env.CC ?? "cc") !== null;

describe("kata-agent-hook.sh, AGENT_INIT=no (systemd image)", () => {
  let rootfs: string;
  beforeAll(() => {
    rootfs = freshRootfs();
    mustHook([rootfs, "--agent", dynamicAgent]);
  });

  test("agent at /usr/bin/kata-agent with a kata-agent-ctl link next to it", () => {
    expect(readFileSync(join(rootfs, "usr/bin/kata-agent")).equals(readFileSync(dynamicAgent))).toBe(true);
    expect(lstatSync(join(rootfs, "usr/bin/kata-agent")).mode & 0o111).toBeTruthy();
    expect(readlinkSync(join(rootfs, "usr/bin/kata-agent-ctl"))).toBe("kata-agent");
    expect(existsSync(join(rootfs, "sbin/init"))).toBe(false);
  });

  test("units carry the settings Kata's image relies on, and are enabled the way Kata enables them", () => {
    const service = readFileSync(join(rootfs, "usr/lib/systemd/system/kata-agent.service"), "utf8");
    for (const line of [
      "StandardOutput=tty", "Type=simple", "ExecStart=/usr/bin/kata-agent", "LimitNOFILE=1073741824",
      "FailureAction=poweroff", "OOMScoreAdjust=-997", "ExecStop=/bin/sync ; /usr/bin/systemctl --force poweroff",
      "Environment=BUN_JSC_useDFGJIT=0 BUN_JSC_useWarmUpMarkedBlocks=0",
    ]) expect(service.split("\n")).toContain(line);
    const target = readFileSync(join(rootfs, "usr/lib/systemd/system/kata-containers.target"), "utf8").split("\n");
    expect(target).toContain("Requires=basic.target");
    expect(target).toContain("Requires=kata-agent.service");
    expect(target).toContain("AllowIsolate=yes");
    expect(readlinkSync(join(rootfs, "etc/systemd/system/basic.target.wants/kata-containers.target")))
      .toBe("/usr/lib/systemd/system/kata-containers.target");
    expect(readlinkSync(join(rootfs, "etc/systemd/system/kata-containers.target.wants/kata-agent.service")))
      .toBe("/usr/lib/systemd/system/kata-agent.service");
  });

  test("every library ldd reports, loader included, is copied to the same path", () => {
    const libs = lddPaths(dynamicAgent);
    expect(libs.some((l) => l.includes("ld-linux"))).toBe(true);
    for (const lib of libs) expect(readFileSync(join(rootfs, lib)).equals(readFileSync(lib))).toBe(true);
  });

  test("running it again changes nothing", () => {
    const before = snapshot(rootfs);
    mustHook([rootfs, "--agent", dynamicAgent]);
    expect(snapshot(rootfs)).toEqual(before);
  });
});

describe("kata-agent-hook.sh, AGENT_INIT=yes (initrd image)", () => {
  test.skipIf(missing({ "a C compiler": haveCc }))("env AGENT_INIT=yes: agent is /sbin/init, /init is the static /proc shim, ctl link; idempotent", () => {
    const rootfs = freshRootfs();
    mustHook([rootfs, "--agent", dynamicAgent], { AGENT_INIT: "yes" });
    expect(readFileSync(join(rootfs, "sbin/init")).equals(readFileSync(dynamicAgent))).toBe(true);
    expect(readlinkSync(join(rootfs, "sbin/kata-agent-ctl"))).toBe("init");
    expect(lstatSync(join(rootfs, "init")).isFile()).toBe(true);
    expect(isStaticElf(join(rootfs, "init"))).toBe(true);
    expect(lstatSync(join(rootfs, "init")).size).toBeLessThan(64 * 1024);
    expect(existsSync(join(rootfs, "usr/lib/systemd/system/kata-agent.service"))).toBe(false);
    const before = snapshot(rootfs);
    mustHook([rootfs, "--agent", dynamicAgent], { AGENT_INIT: "yes" });
    expect(snapshot(rootfs)).toEqual(before);
  });

  test("--init-shim no: /init -> /sbin/init, as in Kata's own images; --init overrides AGENT_INIT", () => {
    const rootfs = freshRootfs();
    mustHook([rootfs, "--agent", dynamicAgent, "--init", "yes", "--init-shim", "no"], { AGENT_INIT: "no" });
    expect(readlinkSync(join(rootfs, "init"))).toBe("/sbin/init");
    expect(lstatSync(join(rootfs, "sbin/init")).isFile()).toBe(true);
  });

  test("replaces an absolute sbin/init symlink instead of writing through it to the build host", () => {
    const rootfs = freshRootfs();
    const hostFile = join(scratch, `host-file-${counter}`);
    writeFileSync(hostFile, "host content\n");
    mkdirSync(join(rootfs, "sbin"));
    symlinkSync(hostFile, join(rootfs, "sbin/init"));
    symlinkSync(hostFile, join(rootfs, "init"));
    mustHook([rootfs, "--agent", dynamicAgent, "--init", "yes", "--init-shim", "no"]);
    expect(readFileSync(hostFile, "utf8")).toBe("host content\n");
    expect(lstatSync(join(rootfs, "sbin/init")).isFile()).toBe(true);
    expect(readlinkSync(join(rootfs, "init"))).toBe("/sbin/init");
  });

  test("libraries already in the rootfs are kept", () => {
    const rootfs = freshRootfs();
    const libc = lddPaths(dynamicAgent).find((l) => l.includes("libc.so"))!;
    mkdirSync(join(rootfs, libc, ".."), { recursive: true });
    writeFileSync(join(rootfs, libc), "rootfs's own libc\n");
    mustHook([rootfs, "--agent", dynamicAgent, "--init", "yes", "--init-shim", "no"]);
    expect(readFileSync(join(rootfs, libc), "utf8")).toBe("rootfs's own libc\n");
  });

  test("a static agent needs no libraries", () => {
    const rootfs = freshRootfs();
    const out = mustHook([rootfs, "--agent", "/bin/busybox", "--init", "yes", "--init-shim", "no"]);
    expect(out).toContain("static");
    expect(existsSync(join(rootfs, "lib"))).toBe(false);
    expect(existsSync(join(rootfs, "lib64"))).toBe(false);
  });

  test("--initrd packs a gzip'd newc cpio of the rootfs, root-owned", () => {
    const rootfs = freshRootfs();
    const img = join(scratch, `initrd-${counter}.img`);
    mustHook([rootfs, "--agent", dynamicAgent, "--init", "yes", "--init-shim", "no", "--initrd", img], { INITRD_GZIP_LEVEL: "1" });
    const gz = readFileSync(img);
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const cpio = Buffer.from(Bun.gunzipSync(gz));
    expect(cpio.toString("latin1", 0, 6)).toBe("070701"); // newc magic
    const listing = Bun.spawnSync(["cpio", "-t", "-v", "--quiet"], { stdin: cpio }).stdout.toString();
    expect(listing).toMatch(/ root +root .* sbin\/init\n/);
    expect(listing).toMatch(/init -> \/sbin\/init/);
    expect(existsSync(`${img}.hook-tmp`)).toBe(false);
  });

  test("INITRD_GZIP_LEVEL=0 packs the same cpio uncompressed", () => {
    const rootfs = freshRootfs();
    const img = join(scratch, `initrd-${counter}.img`);
    mustHook([rootfs, "--agent", dynamicAgent, "--init", "yes", "--init-shim", "no", "--initrd", img], { INITRD_GZIP_LEVEL: "0" });
    const cpio = readFileSync(img);
    expect(cpio.toString("latin1", 0, 6)).toBe("070701");
    const listing = Bun.spawnSync(["cpio", "-t", "--quiet"], { stdin: cpio }).stdout.toString();
    expect(listing).toMatch(/^sbin\/init$/m);
    expect(readFileSync(join(rootfs, "sbin/init")).equals(readFileSync(dynamicAgent))).toBe(true);
  });
});

// Bun exits at start on a BUN_JSC_* option it does not know, and the shim adds its defaults without
// a trial run: the agent this checkout builds must accept them (a Bun upgrade that drops one fails
// here, not in a guest's PID 1).
describe("the JavaScriptCore options the shim and the systemd unit give the agent", () => {
  const agentBin = join(import.meta.dir, "../../dist/kata-agent");
  const shimDefaults = [...readFileSync(join(import.meta.dir, "../../osbuilder-hook/init-shim.c"), "utf8")
    .match(/static char \*defaults\[\] = \{([^}]*)\}/)![1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  const unitLine = /^Environment=(BUN_JSC_.*)$/m.exec(readFileSync(join(import.meta.dir, "../../osbuilder-hook/kata-agent-hook.sh"), "utf8"))![1]!;
  const run = (words: string[]) => Bun.spawnSync(["env", ...words, agentBin, "--version"], { stdout: "pipe", stderr: "pipe" });

  test("both places set the same options", () => {
    expect(shimDefaults.length).toBeGreaterThanOrEqual(2);
    expect(unitLine.split(" ").sort()).toEqual([...shimDefaults].sort());
  });

  test("the built agent starts with them, and refuses an option its Bun does not know", () => {
    const ok = run(shimDefaults);
    expect(ok.stderr.toString()).toBe("");
    expect(ok.exitCode).toBe(0);
    expect(run(["BUN_JSC_noSuchOptionAnywhere=1"]).exitCode).not.toBe(0);
  });
});

describe("kata-agent-hook.sh errors", () => {
  test.each([
    [["/nonexistent-rootfs-dir", "--agent", dynamicAgent], /is not a directory/],
    [[], /usage:/],
    [["ROOTFS", "--agent", "/nonexistent-agent"], /does not exist/],
    [["ROOTFS", "--agent", "NOT_EXECUTABLE"], /not an executable file/],
    [["ROOTFS", "--agent", dynamicAgent, "--init", "maybe"], /must be yes or no/],
    [["ROOTFS", "--agent", dynamicAgent, "--bogus"], /unknown option/],
    [["ROOTFS", "ROOTFS2", "--agent", dynamicAgent], /more than one ROOTFS_DIR/],
  ])("%p fails with a clear message", (args, message) => {
    const rootfs = freshRootfs();
    const notExecutable = join(scratch, "not-executable");
    writeFileSync(notExecutable, "data\n");
    const r = hook(args.map((a) => ({ ROOTFS: rootfs, ROOTFS2: freshRootfs(), NOT_EXECUTABLE: notExecutable })[a] ?? a));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(message);
  });

  test("refuses to write through an absolute symlink that leaves the rootfs", () => {
    const rootfs = freshRootfs();
    const outside = join(scratch, `outside-${counter}`);
    mkdirSync(outside);
    symlinkSync(outside, join(rootfs, "usr")); // like a rootfs whose /usr is an absolute link
    const r = hook([rootfs, "--agent", dynamicAgent]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/outside the rootfs/);
    expect(readdirSync(outside)).toEqual([]);
  });

  test("INITRD_GZIP_LEVEL outside 0..9 is rejected", () => {
    const r = hook([freshRootfs(), "--agent", dynamicAgent, "--initrd", join(scratch, "never.img")], { INITRD_GZIP_LEVEL: "fast" });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/INITRD_GZIP_LEVEL must be 0\.\.9/);
    expect(existsSync(join(scratch, "never.img"))).toBe(false);
  });

  test("AGENT_INIT with a bad value is rejected", () => {
    const r = hook([freshRootfs(), "--agent", dynamicAgent], { AGENT_INIT: "maybe" });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/AGENT_INIT.*yes or no/);
  });
});
