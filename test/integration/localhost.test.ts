// PID 1 brings `lo` up at start-up (Kata's handle_localhost) through the interface-flags ioctls
// (src/sys/ifflags.ts). Run in a fresh network namespace (`unshare -n`), where `lo` starts down;
// `ip` reads the result back. Nothing outside that namespace is touched.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRoot, missing } from "../helpers/require.ts";

const src = join(import.meta.dir, "../../src");

/** Runs `script` (TypeScript) with Bun in a new network namespace; returns its stdout lines. */
function inNewNetns(script: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "lo-up-"));
  try {
    writeFileSync(join(dir, "probe.ts"), script);
    const r = Bun.spawnSync(["unshare", "-n", process.execPath, join(dir, "probe.ts")], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`probe exited ${r.exitCode}: ${r.stderr.toString()}`);
    return r.stdout.toString().trim().split("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(missing({ root: isRoot, unshare: Bun.which("unshare") !== null, ip: Bun.which("ip") !== null }))("bringing lo up", () => {
  test("lo goes from down to up, a second call changes nothing, and 127.0.0.1 is then routable", () => {
    const out = inNewNetns(`
      import { bringUpLoopback } from "${src}/network/localhost.ts";
      import { IFF_UP, setInterfaceFlags } from "${src}/sys/ifflags.ts";
      const ip = (...a: string[]) => Bun.spawnSync(["ip", ...a]).stdout.toString();
      console.log(/[<,]UP[,>]/.test(ip("-o", "link", "show", "lo")) ? "before: up" : "before: down");
      bringUpLoopback();
      console.log(/[<,]UP[,>]/.test(ip("-o", "link", "show", "lo")) ? "after: up" : "after: down");
      console.log("again changed:", setInterfaceFlags("lo", IFF_UP));
      console.log("route:", ip("-o", "route", "get", "127.0.0.1").includes("dev lo") ? "via lo" : "none");
    `);
    expect(out).toEqual(["before: down", "after: up", "again changed: false", "route: via lo"]);
  });

  test("errors name the call and the interface: a missing interface is ENODEV, a bad name EINVAL", () => {
    const out = inNewNetns(`
      import { IFF_UP, setInterfaceFlags } from "${src}/sys/ifflags.ts";
      for (const name of ["nosuch0", "", "a-name-far-too-long-for-ifnamsiz"]) {
        try { setInterfaceFlags(name, IFF_UP); console.log("no error"); } catch (e) { console.log((e as Error).message); }
      }
    `);
    expect(out).toEqual([
      "ioctl(SIOCGIFFLAGS, nosuch0): ENODEV",
      'interface name "": EINVAL',
      'interface name "a-name-far-too-long-for-ifnamsiz": EINVAL',
    ]);
  });
});
