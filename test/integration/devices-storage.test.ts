// The block storage drivers through CreateContainer's storages (the storage table of
// src/storage/), against the compiled agent in a private mount namespace with its own tmpfs on
// /run/kata-containers: a `blk` storage on a loop device is mounted and a container reads a file
// from it through a bind mount; a `blk` storage whose PCI path never appears is DEADLINE_EXCEEDED
// after hotplug_timeout, and nothing stays mounted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { minimalSpec } from "../../src/ctl/oci-json.ts";
import { makeBusyboxRootfs } from "../fixtures/busybox.ts";
import { attach, detach, makeExt4Image, MARKER } from "../fixtures/block-image.ts";
import { startAgent, failure, type RunningAgent } from "../helpers/agent.ts";
import { Code, readAll, rpc, text } from "./containers-harness.ts";
import type { TtrpcClient } from "../../src/ttrpc/client.ts";

const isRoot = process.getuid?.() === 0;
const MP = "/run/kata-containers/sandbox/storage/blkvol";

describe.skipIf(!isRoot && process.env.CI !== "true")("block storages through CreateContainer (agent binary, private mount namespace)", () => {
  let dir: string;
  let loop: string;
  let agent: RunningAgent;
  let c: TtrpcClient;
  let rootfs: string;
  const cg = `kata-devstor-${process.pid}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kata-devstor-"));
    loop = attach(makeExt4Image(dir, "vol.img", 8));
    rootfs = await makeBusyboxRootfs(join(dir, "rootfs"));
    mkdirSync("/run/kata-containers", { recursive: true });
    agent = await startAgent({
      toml: "hotplug_timeout = 1",
      wrap: ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount -t tmpfs kata-run /run/kata-containers && exec "$@"', "sh"],
    });
    c = await agent.client();
    await rpc(c, "CreateSandbox", { sandbox_id: "devstor", hostname: "devstor" });
  });
  afterAll(async () => {
    await agent?.stop();
    if (loop) detach(loop);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a blk storage on /dev/loopN is mounted read-only and a container reads its file through a bind", async () => {
    const spec = minimalSpec({ rootfs, args: ["cat", "/data/hello.txt"] });
    spec.Linux!.CgroupsPath = `/${cg}/blkc`;
    spec.Mounts = [...(spec.Mounts ?? []), { destination: "/data", source: MP, type: "bind", options: ["rbind", "ro"] }];
    await rpc(c, "CreateContainer", {
      container_id: "blkc", exec_id: "", OCI: spec as never,
      storages: [{ driver: "blk", source: loop, fstype: "ext4", options: ["ro"], mount_point: MP }],
    });
    const mounts = readFileSync(`/proc/${agent.proc.pid}/mountinfo`, "utf8");
    expect(mounts).toContain(` ${MP} `);
    await rpc(c, "StartContainer", { container_id: "blkc" });
    const [out, w] = await Promise.all([readAll(c, "blkc", "", "ReadStdout"), rpc(c, "WaitProcess", { container_id: "blkc", exec_id: "" })]);
    expect(w.status).toBe(0);
    expect(text(out)).toBe(`${MARKER}\n`);
    await rpc(c, "RemoveContainer", { container_id: "blkc", timeout: 0 });
    // the container was the storage's only user: it is released with it
    expect(readFileSync(`/proc/${agent.proc.pid}/mountinfo`, "utf8")).not.toContain(` ${MP} `);
  });

  test("a blk storage whose PCI path never appears: DEADLINE_EXCEEDED naming it, nothing mounted or created", async () => {
    const spec = minimalSpec({ rootfs, args: ["true"] });
    spec.Linux!.CgroupsPath = `/${cg}/never`;
    const t0 = performance.now();
    const f = await failure(rpc(c, "CreateContainer", {
      container_id: "never", exec_id: "", OCI: spec as never,
      storages: [{ driver: "blk", source: "1e", fstype: "ext4", options: [], mount_point: `${MP}-never` }],
    }));
    expect(f.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(f.message).toContain("PCI path 1e");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    expect(readFileSync(`/proc/${agent.proc.pid}/mountinfo`, "utf8")).not.toContain(`${MP}-never`);
    expect((await failure(rpc(c, "StartContainer", { container_id: "never" }))).code).toBe(Code.INVALID_ARGUMENT);
  });
});
