// Issue 14 #4: RootfsPropagation "shared"/"rshared" with the rootfs under a shared mount (as "/"
// is under systemd): the container starts, and none of its mounts appear in the agent's mount
// namespace. The rootfs's parent mount is made private in the container's namespace (as runc and
// Kata do) and the requested propagation is applied to the new root after pivot_root.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "bun";
import { makeBusyboxRootfs } from "../fixtures/busybox.ts";
import { isRoot, mountsUnder, readAll, rpc, text, useHarness, type Harness } from "./containers-harness.ts";

let h: Harness;
const cids = new Set<string>();
let shared = "";
let rootfs = "";

const sh = (...args: string[]) => {
  const r = spawnSync(args);
  if (r.exitCode !== 0) throw new Error(`${args.join(" ")}: ${r.stderr.toString()}`);
};

describe.skipIf(!isRoot)("RootfsPropagation under a shared mount", () => {
  useHarness(cids, (x) => {
    h = x;
  });
  beforeAll(async () => {
    shared = mkdtempSync(join(tmpdir(), "kata-shared-"));
    sh("mount", "-t", "tmpfs", "tmpfs", shared);
    sh("mount", "--make-shared", shared);
    rootfs = await makeBusyboxRootfs(join(shared, "rootfs"));
    mkdirSync(join(rootfs, "vol"), { recursive: true });
  });
  afterAll(() => {
    spawnSync(["umount", "-R", "-l", shared]);
    rmSync(shared, { recursive: true, force: true });
  });

  for (const mode of ["rshared", "shared"]) {
    test(`${mode}: the container runs, nothing leaks into the agent's namespace`, async () => {
      const cid = `prop-${mode}`;
      cids.add(cid);
      const s = h.spec(["sh", "-c", "grep ' / ' /proc/self/mountinfo; cat /proc/self/mountinfo | grep -c ' /vol '"], { cid, rootfs });
      s.Linux!.RootfsPropagation = mode;
      s.Mounts!.push({ destination: "/vol", type: "tmpfs", source: "tmpfs", options: ["nosuid"] });
      await rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: s as never });
      // Before the fix these were visible here (and stayed after the failed pivot_root).
      expect(mountsUnder(shared)).toEqual([shared]);
      await rpc(h.c, "StartContainer", { container_id: cid });
      const out = text(await readAll(h.c, cid, "", "ReadStdout"));
      expect((await rpc(h.c, "WaitProcess", { container_id: cid, exec_id: "" })).status).toBe(0);
      // The requested propagation on the container's root.
      expect(out.split("\n")[0]).toContain("shared:");
      expect(out.trim().split("\n").at(-1)).toBe("1");
      await rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 5 });
      cids.delete(cid);
      expect(mountsUnder(shared)).toEqual([shared]);
    });
  }
});
