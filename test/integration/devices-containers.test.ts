// CreateContainer's device list and AddSwap against the compiled agent (root): a loop device
// stands in for a hot-plugged disk; the container's node must carry the guest's numbers.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, failure, isRoot, readAll, rpc, startHarness, text, type Harness } from "./containers-harness.ts";
import { attach, detach, devNumbers, makeExt4Image, MARKER } from "../fixtures/block-image.ts";

describe.skipIf(!isRoot && process.env.CI !== "true")("CreateContainer devices and AddSwap (agent binary)", () => {
  let h: Harness;
  let dir: string;
  let loop: string;
  const cids = new Set<string>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kata-devctr-"));
    loop = attach(makeExt4Image(dir, "disk.img", 8));
    h = await startHarness({ toml: "hotplug_timeout = 1" });
  });
  afterEach(async () => {
    await h.removeQuietly(...cids);
    cids.clear();
    await h.assertClean();
  });
  afterAll(async () => {
    await h?.stop();
    if (loop) detach(loop);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A spec whose Linux.Devices has the HOST's numbers (8:16) for /dev/xvdb, plus a cgroup rule for them. */
  function specWithHostDevice(cid: string, args: string[]) {
    const s = h.spec(args, { cid });
    s.Linux!.Devices = [{ Path: "/dev/xvdb", Type: "b", Major: 8, Minor: 16, FileMode: 0o660 }];
    s.Linux!.Resources = { ...(s.Linux!.Resources ?? {}), Devices: [{ Allow: false, Access: "rwm" }, { Allow: true, Type: "b", Major: 8, Minor: 16, Access: "rwm" }] };
    return s;
  }

  test("an mmioblk device: the container's /dev/xvdb has the guest numbers and reads the disk", async () => {
    const cid = "devblk";
    cids.add(cid);
    const { major, minor } = devNumbers(loop.slice(5));
    await rpc(h.c, "CreateContainer", {
      container_id: cid, exec_id: "",
      OCI: specWithHostDevice(cid, ["sh", "-c", "stat -c '%t:%T' /dev/xvdb; grep -c -a " + MARKER + " /dev/xvdb"]),
      devices: [{ type: "mmioblk", vm_path: loop, container_path: "/dev/xvdb" }],
    });
    await rpc(h.c, "StartContainer", { container_id: cid });
    const [out, w] = await Promise.all([readAll(h.c, cid, "", "ReadStdout"), rpc(h.c, "WaitProcess", { container_id: cid, exec_id: "" })]);
    expect(w.status).toBe(0);
    const [nums, count] = text(out).trim().split("\n");
    expect(nums).toBe(`${major.toString(16)}:${minor.toString(16)}`);
    expect(Number(count)).toBeGreaterThanOrEqual(1);
  });

  test("a blk device whose PCI path never appears: DEADLINE_EXCEEDED after hotplug_timeout naming it; nothing created", async () => {
    const t0 = performance.now();
    const f = await failure(rpc(h.c, "CreateContainer", {
      container_id: "devnever", exec_id: "", OCI: specWithHostDevice("devnever", ["true"]),
      devices: [{ type: "blk", id: "1e", container_path: "/dev/xvdb" }],
    }));
    expect(f.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(f.message).toContain("PCI path 1e");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    expect((await failure(rpc(h.c, "StartContainer", { container_id: "devnever" }))).code).toBe(Code.INVALID_ARGUMENT);
  });

  test("bad input: a PCI path that does not parse, a device with no spec entry, an unknown type", async () => {
    const bad = async (devices: object[]) => failure(rpc(h.c, "CreateContainer", { container_id: "devbad", exec_id: "", OCI: specWithHostDevice("devbad", ["true"]), devices } as never));
    const f1 = await bad([{ type: "blk", id: "zz/01", container_path: "/dev/xvdb" }]);
    expect(f1.code).toBe(Code.INVALID_ARGUMENT);
    expect(f1.message).toContain('"zz/01"');
    const f2 = await bad([{ type: "mmioblk", vm_path: loop, container_path: "/dev/elsewhere" }]);
    expect(f2.code).toBe(Code.INVALID_ARGUMENT);
    expect(f2.message).toContain("/dev/elsewhere");
    const f3 = await bad([{ type: "floppy", id: "a", container_path: "/dev/xvdb" }]);
    expect(f3.code).toBe(Code.INVALID_ARGUMENT);
    expect(f3.message).toContain("floppy");
  });

  test("AddSwap: an empty or out-of-range PCI path is INVALID_ARGUMENT; a disk that never comes is DEADLINE_EXCEEDED", async () => {
    expect((await failure(rpc(h.c, "AddSwap", { PCIPath: [] }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await failure(rpc(h.c, "AddSwap", { PCIPath: [0x20] }))).message).toContain("range");
    const f = await failure(rpc(h.c, "AddSwap", { PCIPath: [0x1e] }));
    expect(f.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(f.message).toContain("PCI path 1e");
  });
});
