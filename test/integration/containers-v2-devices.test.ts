// cgroup v2 device filter: with the agent on the unified hierarchy, a container (which holds
// CAP_MKNOD here) can still mknod a device node, but opening a device its rules do not allow
// fails with EPERM; the default devices (/dev/null) work, and a spec rule opens a device up.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { grpc } from "../../src/gen/index.ts";
import { detectLayout } from "../../src/cgroups/detect.ts";
import { isRoot, readAll, rpc, startHarness, text, type Harness } from "./containers-harness.ts";

const v2 = detectLayout().v2?.mountPoint;
let h: Harness;

describe.skipIf(!isRoot || (!v2 && process.env.CI !== "true"))("cgroup v2 device filter", () => {
  beforeAll(async () => {
    if (!v2) throw new Error("no cgroup2 mount on this host: the v2 device filter cannot be tested");
    h = await startHarness({ toml: "unified_cgroup_hierarchy = true" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function run(cid: string, script: string, devices: grpc.ILinuxDeviceCgroup[] = []): Promise<string> {
    const s = h.spec(["sh", "-c", script], { cid }) as grpc.ISpec;
    s.Process!.Capabilities = { Bounding: ["CAP_MKNOD"], Effective: ["CAP_MKNOD"], Permitted: ["CAP_MKNOD"] };
    if (devices.length) s.Linux!.Resources = { ...(s.Linux!.Resources ?? {}), Devices: devices };
    await rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: s });
    expect(existsSync(`${v2}/${h.cgroupPrefix}/${cid}`)).toBe(true);
    await rpc(h.c, "StartContainer", { container_id: cid });
    const out = text(await readAll(h.c, cid, "", "ReadStdout")) + text(await readAll(h.c, cid, "", "ReadStderr"));
    await rpc(h.c, "WaitProcess", { container_id: cid, exec_id: "" });
    await rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 5 });
    expect(existsSync(`${v2}/${h.cgroupPrefix}/${cid}`)).toBe(false);
    return out;
  }

  // /dev/fuse (c 10:229): mode 0666, opening it needs no capability, so only the filter can refuse.
  const script = (cid: string) =>
    `mknod /tmp/fuse-${cid} c 10 229 && echo mknod-ok; (exec 3</tmp/fuse-${cid}) && echo open-ok; echo x > /dev/null && echo null-ok; rm -f /tmp/fuse-${cid}`;

  test("mknod works (CAP_MKNOD, 'm' allowed), open of a denied device is EPERM, /dev/null works", async () => {
    const out = await run("denied", script("denied"));
    expect(out).toContain("mknod-ok");
    expect(out).not.toContain("open-ok");
    expect(out).toContain("Operation not permitted");
    expect(out).toContain("null-ok");
  });

  test("a spec rule allowing c 10:229 r opens it", async () => {
    const out = await run("allowed", script("allowed"), [{ Allow: true, Type: "c", Major: 10, Minor: 229, Access: "r" }]);
    expect(out).toContain("mknod-ok");
    expect(out).toContain("open-ok");
  });
});
