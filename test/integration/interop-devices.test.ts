// CreateContainer's Device list and AddSwap through containerd's Go ttRPC client (the library the
// Kata Go runtime uses), against the compiled agent; a loop device stands in for the disk.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildInteropClient, goAvailable } from "../interop/build.ts";
import { isRoot, startHarness, type Harness } from "./containers-harness.ts";
import { attach, detach, devNumbers, makeExt4Image } from "../fixtures/block-image.ts";
import { missing } from "../helpers/require.ts";

describe.skipIf(missing({ "Go with containerd ttrpc": goAvailable(), root: isRoot }))("Go ttRPC client: devices", () => {
  let h: Harness;
  let bin: string;
  let dir: string;
  let loop: string;
  beforeAll(async () => {
    bin = buildInteropClient();
    dir = mkdtempSync(join(tmpdir(), "kata-interop-dev-"));
    loop = attach(makeExt4Image(dir, "d.img", 8));
    h = await startHarness({ toml: "hotplug_timeout = 1" });
  }, 180_000);
  afterAll(async () => {
    await h?.stop();
    if (loop) detach(loop);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a device the spec names with host numbers gets the guest's; a bad PCI path is INVALID_ARGUMENT; a missing disk DEADLINE_EXCEEDED", async () => {
    const p = Bun.spawn([bin, "-addr", h.agent.address, "-rootfs", h.rootfs, "-cgroup-parent", h.cgroupPrefix, "-dev-loop", loop, "devices"], {
      stdout: "pipe", stderr: "pipe", timeout: 120_000,
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`interop-client exit ${code}: ${err}\n${out}`);
    const r = JSON.parse(out.trim());
    const { major, minor } = devNumbers(loop.slice(5));
    expect(r).toMatchObject({ scenario: "devices", code: "OK", exit: 0, numbers: `${major.toString(16)}:${minor.toString(16)}`, bad_path_code: "InvalidArgument", swap_code: "DeadlineExceeded" });
    expect(r.bad_path_message).toContain("zz/01");
    expect(r.swap_message).toContain("PCI path 1e");
    expect(r.swap_ms).toBeGreaterThanOrEqual(950);
    await h.assertClean();
  });
});
