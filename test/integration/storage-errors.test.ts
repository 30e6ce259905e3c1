// Bad storage input against the real agent in a mount namespace the test makes: every refusal is
// a status naming the field, storage or mount at fault, and nothing stays mounted or written.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code, failure, isRoot, rpc } from "./containers-harness.ts";
import { startAgent, type RunningAgent } from "../helpers/agent.ts";
import { missing } from "../helpers/require.ts";
import type { TtrpcClient } from "../../src/ttrpc/client.ts";
import { makePod, SHARED, SHM, type Pod, stopPod } from "./storage-pod-fixture.ts";

let pod: Pod;
let agent: RunningAgent;
let c: TtrpcClient;
let baseline: string[] = [];

const mounts = () => pod.kataMounts().map((m) => m.mountPoint).sort();
const eph = (name: string, options: string[] = []) =>
  ({ driver: "ephemeral", source: "tmpfs", fstype: "tmpfs", options, mount_point: `/run/kata-containers/sandbox/ephemeral/${name}` });

function appWith(storages: unknown[], extraMounts: unknown[] = [], cid = pod.cid): Record<string, unknown> {
  const r = structuredClone(pod.appReq) as { container_id: string; exec_id: string; storages: unknown[]; OCI: { Mounts: unknown[]; Linux: { CgroupsPath: string } } };
  r.container_id = r.exec_id = cid;
  r.storages = storages;
  r.OCI.Mounts = [...r.OCI.Mounts.filter((m) => !["/etc/config", "/cache", "/data"].includes((m as { destination: string }).destination)), ...extraMounts];
  r.OCI.Linux.CgroupsPath = `/${pod.cgroupParent}/${cid}`;
  return r;
}

async function expectRefused(p: Promise<unknown>, code: Code, ...words: (string | RegExp)[]): Promise<void> {
  const f = await failure(p);
  expect(f.code).toBe(code);
  for (const w of words) expect(f.message).toMatch(w);
  expect(mounts()).toEqual(baseline);
}

describe.skipIf(missing({ root: isRoot, "inotifywait (inotify-tools)": !!Bun.which("inotifywait") }))("storage bad input", () => {
  beforeAll(async () => {
    pod = await makePod(`e${process.pid % 1000}`);
    symlinkSync("/etc", join(pod.share, "escape"));
    agent = await startAgent({ wrap: pod.wrap });
    c = await agent.client();
    baseline = mounts();
  }, 60_000);

  afterAll(() => stopPod(agent, pod));

  test("CreateSandbox refuses bad storages before mounting any, and leaves no sandbox", async () => {
    const good = (pod.sandboxReq as { storages: unknown[] }).storages;
    const req = (storages: unknown[]) => rpc(c, "CreateSandbox", { ...pod.sandboxReq, storages } as never);
    await expectRefused(req([...good, { ...eph("x"), mount_point: "/etc/evil" }]), Code.INVALID_ARGUMENT, /storages\[2\]\.mount_point "\/etc\/evil" is outside \/run\/kata-containers\//);
    await expectRefused(req([...good, { ...eph("x"), mount_point: "/run/kata-containers/../../etc" }]), Code.INVALID_ARGUMENT, /contains "\.\."/);
    await expectRefused(req([...good, { ...eph("x"), driver: "nfs" }]), Code.INVALID_ARGUMENT, /storages\[2\]\.driver: unknown storage driver "nfs"/);
    await expectRefused(req([{ ...eph("x"), driver: "blk-ccw" }]), Code.INVALID_ARGUMENT, /storage driver "blk-ccw" is not available/);
    await expectRefused(req([{ ...eph("x"), driver: "mmioblk" }]), Code.INVALID_ARGUMENT, /\(driver mmioblk\).*source "tmpfs" must be a \/dev\/… path/);
    await expectRefused(req([...good, { ...eph("x"), mount_point: `${SHARED}/escape/x` }]), Code.INVALID_ARGUMENT, /through a symlink \(to \/etc\)/);
    await expectRefused(req([...good, { driver: "bind", source: `${SHARED}/escape`, fstype: "bind", options: [], mount_point: "/run/kata-containers/sandbox/b" }]),
      Code.INVALID_ARGUMENT, /driver bind\) source .* through a symlink/);
    // an option tmpfs does not know: the kernel refuses it, the status names the storage and options
    await expectRefused(req([...good, eph("x", ["bogus=1"])]), Code.INVALID_ARGUMENT, /storage \/run\/kata-containers\/sandbox\/ephemeral\/x \(driver ephemeral\).*options "bogus=1"/);
    await expectRefused(req([...good, eph("x", ["loop"])]), Code.INVALID_ARGUMENT, /mount option "loop"/);
    await expectRefused(req([...good, eph("x", ["fsgid=abc"])]), Code.INVALID_ARGUMENT, /fsgid: "abc" is not a group id/);
    await expectRefused(req([{ ...eph("h"), fstype: "hugetlbfs", options: ["pagesize=3"] }]), Code.INVALID_ARGUMENT, /needs both pagesize= and size=/);
    await expectRefused(req([{ driver: "watchable-bind", source: `${SHARED}/x`, fstype: "bind", options: [], mount_point: `${SHARED}/watchable/x` }]),
      Code.INVALID_ARGUMENT, /only a container may have watchable storages/);
    await expectRefused(rpc(c, "CreateSandbox", { ...pod.sandboxReq, guest_hook_path: "hooks" } as never), Code.INVALID_ARGUMENT, /guest_hook_path "hooks"/);
    expect(existsSync(pod.guest("/run/kata-containers/sandbox"))).toBe(false);
    expect(existsSync(pod.guest("/etc/evil"))).toBe(false);
    // none of these created the sandbox
    await rpc(c, "CreateSandbox", pod.sandboxReq as never);
    baseline = mounts();
    expect(baseline).toContain(SHM);
    await rpc(c, "CreateContainer", pod.pauseReq as never);
    baseline = mounts();
  });

  test("CreateContainer: a missing source names the mount and its storage; the container's storages are released", async () => {
    await expectRefused(rpc(c, "CreateContainer", appWith([eph("cache")], [
      { destination: "/cache", type: "bind", source: "/run/kata-containers/sandbox/ephemeral/cache", options: ["rbind"] },
      { destination: "/etc/config", type: "bind", source: `${SHARED}/watchable/${pod.cid}-cfg`, options: ["rbind"] },
    ]) as never), Code.INVALID_ARGUMENT, /Spec\.Mounts\[\d+\] \(destination \/etc\/config\): source ".*watchable\/.*-cfg" does not exist in the guest; it should come from a watchable-bind storage/);
    expect(existsSync(pod.guest("/run/kata-containers/sandbox/ephemeral"))).toBe(false);
    const r = appWith([]) as { OCI: { Root: { Path: string } } };
    r.OCI.Root.Path = `${SHARED}/nothere/rootfs`;
    await expectRefused(rpc(c, "CreateContainer", r as never), Code.INVALID_ARGUMENT, /Spec\.Root\.Path .*nothere\/rootfs": the container rootfs does not exist in the guest/);
    // a spec the planner refuses after the storages were mounted
    const bad = appWith([eph("cache")]) as { OCI: { Process: { Args: string[] } } };
    bad.OCI.Process.Args = [];
    await expectRefused(rpc(c, "CreateContainer", bad as never), Code.INVALID_ARGUMENT, /Process\.Args/);
    expect(existsSync(pod.guest(`/run/kata-containers/${pod.cid}`))).toBe(false);
  });

  test("a storage another container's spec uses stays until that container is removed", async () => {
    const a = "ca".padEnd(64, "a"), b = "cb".padEnd(64, "b");
    const vol = "/run/kata-containers/sandbox/ephemeral/shared-vol";
    mkdirSync(join(pod.share, a), { recursive: true });
    await rpc(c, "CreateContainer", appWith([eph("shared-vol")], [{ destination: "/v", type: "bind", source: vol, options: ["rbind"] }], a) as never);
    const rb = appWith([], [{ destination: "/v", type: "bind", source: vol, options: ["rbind"] }], b) as { OCI: { Root: { Path: string } } };
    await rpc(c, "CreateContainer", rb as never);
    await rpc(c, "RemoveContainer", { container_id: a, timeout: 5 });
    expect(mounts()).toContain(vol);
    await rpc(c, "RemoveContainer", { container_id: b, timeout: 5 });
    expect(mounts()).toEqual(baseline);
  });

  test("a watchable volume over Kata's limits is bound instead of copied", async () => {
    const src = join(pod.share, "big-volume");
    mkdirSync(src);
    for (let i = 0; i < 17; i++) writeFileSync(join(src, `f${i}`), `${i}`);
    const target = `${SHARED}/watchable/big-volume`;
    await rpc(c, "CreateContainer", appWith([{ driver: "watchable-bind", source: `${SHARED}/big-volume`, fstype: "bind", options: [], mount_point: target }],
      [{ destination: "/etc/big", type: "bind", source: target, options: ["rbind"] }]) as never);
    expect(mounts()).toContain(target);
    expect(agent.logs()).toContain("watchable volume too big; binding it instead");
    await rpc(c, "RemoveContainer", { container_id: pod.cid, timeout: 5 });
    expect(mounts()).toEqual(baseline);
  });

  test("storage RPCs refuse what they cannot do, naming it", async () => {
    await expectRefused(rpc(c, "UpdateEphemeralMounts", { storages: [{ driver: "local", mount_point: "/run/kata-containers/sandbox/l", options: ["size=1"] }] } as never),
      Code.INVALID_ARGUMENT, /driver "local" cannot be updated/);
    await expectRefused(rpc(c, "UpdateEphemeralMounts", { storages: [{ ...eph("x", ["size=1m"]), mount_point: "/etc/x" }] } as never), Code.INVALID_ARGUMENT, /outside/);
    await rpc(c, "UpdateEphemeralMounts", { storages: [{ driver: "ephemeral", source: "shm", fstype: "tmpfs", mount_point: SHM, options: ["remount", "size=33554432"] }] } as never);
    expect(pod.kataMounts().find((m) => m.mountPoint === SHM)?.superOptions).toContain("size=32768k");
    await expectRefused(rpc(c, "GetVolumeStats", { volume_guest_path: "/run/kata-containers/nothing" }), Code.NOT_FOUND, /volume_guest_path "\/run\/kata-containers\/nothing" does not exist/);
    await expectRefused(rpc(c, "GetDiagnosticData", { log_type: "kernel", container_id: pod.sid }), Code.INVALID_ARGUMENT, /log_type "kernel" is not supported/);
    await expectRefused(rpc(c, "GetDiagnosticData", { log_type: "termination_log", container_id: pod.sid }), Code.INVALID_ARGUMENT, /no io.kubernetes.container.terminationMessagePath annotation/);
    await rpc(c, "DestroySandbox", {});
    expect(await agent.proc.exited).toBe(0);
    expect(mounts()).toEqual([SHARED]);
  });
});
