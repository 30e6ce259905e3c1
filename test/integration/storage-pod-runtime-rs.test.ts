// The same pod as storage-pod.test.ts in the shapes runtime-rs sends (notes §2.3, and Kata's
// src/runtime-rs/crates/resource/src/share_fs/utils.rs): the virtio-fs storage with options
// ["nodev"], sandbox_pidns false, every shared path under the share's `passthrough/` directory —
// a container's rootfs at passthrough/<cid>/rootfs, its files (hosts, hostname, resolv.conf) at
// passthrough/<cid>-<hex>-<name> — and OnlineCPUMem{nb_cpus: <vCPUs>, cpu_only: false} after the
// containers (on a fake sysfs: both CPUs online, one memory block still offline). The emptyDir and ConfigMap volumes of the Go
// replay are left out: their runtime-rs shapes are not in the notes. Root only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { childrenOf, isRoot, rpc } from "./containers-harness.ts";
import { startAgent, type RunningAgent } from "../helpers/agent.ts";
import { missing } from "../helpers/require.ts";
import type { TtrpcClient } from "../../src/ttrpc/client.ts";
import { makePod, podExec, SHARED, SHM, type Pod, stopPod } from "./storage-pod-fixture.ts";

let pod: Pod;
let agent: RunningAgent;
let c: TtrpcClient;
let sandboxReq: Record<string, unknown>;
let pauseReq: Record<string, unknown>;
let appReq: Record<string, unknown>;
let shareListing: string[];
const PASS = `${SHARED}/passthrough`;

/** The Go replay's requests with runtime-rs's paths: `${SHARED}/<x>` becomes `${SHARED}/passthrough/<x>`. */
function toPassthrough<T>(req: T): T {
  return JSON.parse(JSON.stringify(req).replaceAll(`${SHARED}/`, `${PASS}/`)) as T;
}

const exec = (cid: string, script: string): Promise<string> => podExec(c, cid, script);

describe.skipIf(missing({ root: isRoot, "inotifywait (inotify-tools)": !!Bun.which("inotifywait") }))("pod replay in runtime-rs's shapes (passthrough paths)", () => {
  beforeAll(async () => {
    pod = await makePod(`r${process.pid % 1000}`);
    // The share as runtime-rs lays it out: everything under passthrough/.
    const pass = join(pod.share, "passthrough");
    mkdirSync(pass);
    for (const name of readdirSync(pod.share)) if (name !== "passthrough") renameSync(join(pod.share, name), join(pass, name));
    shareListing = readdirSync(pass).sort();
    sandboxReq = structuredClone(pod.sandboxReq);
    const storages = sandboxReq.storages as { driver: string; options: string[] }[];
    storages.find((s) => s.driver === "virtio-fs")!.options = ["nodev"];
    pauseReq = toPassthrough(pod.pauseReq);
    const app = toPassthrough(pod.appReq) as { storages: unknown[]; OCI: { Mounts: { destination: string }[] } };
    app.storages = [];
    app.OCI.Mounts = app.OCI.Mounts.filter((m) => !["/etc/config", "/cache", "/data"].includes(m.destination));
    appReq = app as unknown as Record<string, unknown>;
    // A guest with 2 CPUs online and a hot-added memory block not yet online (KATA_AGENT_SYSFS).
    const sys = join(pod.dir, "sys");
    mkdirSync(join(sys, "devices/system/cpu/cpu1"), { recursive: true });
    writeFileSync(join(sys, "devices/system/cpu/online"), "0-1\n");
    mkdirSync(join(sys, "devices/system/memory/memory0"), { recursive: true });
    writeFileSync(join(sys, "devices/system/memory/memory0/online"), "0\n");
    agent = await startAgent({ wrap: pod.wrap, env: { KATA_AGENT_SYSFS: sys } });
    c = await agent.client();
  }, 60_000);

  afterAll(() => stopPod(agent, pod));

  test("the requests carry runtime-rs's paths (the replay is what it claims)", () => {
    expect(JSON.stringify(pauseReq)).toContain(`${PASS}/${pod.sid}/rootfs`);
    expect(JSON.stringify(appReq)).toContain(`${PASS}/${pod.cid}/rootfs`);
    expect(JSON.stringify(appReq)).not.toContain(`${SHARED}/${pod.cid}`);
    expect(existsSync(join(pod.share, "passthrough", pod.cid, "rootfs", "bin", "busybox"))).toBe(true);
  });

  test("CreateSandbox with the nodev virtio-fs storage; pause and app run from passthrough/<cid>/rootfs", async () => {
    await rpc(c, "CreateSandbox", sandboxReq as never);
    expect(pod.kataMounts().filter((m) => m.mountPoint === SHARED).length).toBe(1);
    expect(pod.kataMounts().find((m) => m.mountPoint === SHM)?.fstype).toBe("tmpfs");
    await rpc(c, "CreateContainer", pauseReq as never);
    await rpc(c, "StartContainer", { container_id: pod.sid });
    await rpc(c, "CreateContainer", appReq as never);
    await rpc(c, "StartContainer", { container_id: pod.cid });
    const cfg = JSON.parse(readFileSync(pod.guest(`/run/kata-containers/${pod.cid}/config.json`), "utf8"));
    expect(cfg.root.path).toBe(`/run/kata-containers/${pod.cid}/rootfs`);
    // The container's root is the passthrough rootfs, bound at the bundle.
    const root = pod.kataMounts().find((m) => m.mountPoint === `/run/kata-containers/${pod.cid}/rootfs`);
    expect(root?.fsRoot).toContain(`/passthrough/${pod.cid}/rootfs`);
    const parts = (await exec(pod.cid, ["hostname", "cat /etc/hosts", "cat /etc/resolv.conf", "echo rs > /dev/shm/f"].join("; echo ---; ")))
      .split("---\n").map((s) => s.trim());
    expect(parts[0]).toBe("storage-pod");
    expect(parts[1]).toContain("10.244.0.7 storage-pod");
    expect(parts[2]).toContain("nameserver 10.96.0.10");
    expect((await exec(pod.sid, "cat /dev/shm/f")).trim()).toBe("rs");
    // runtime-rs sends this after every resource update, with the VM's current vCPUs.
    // Without `wait` the agent answers at once and onlines in the background (Kata does the same).
    await rpc(c, "OnlineCPUMem", { nb_cpus: 2, cpu_only: false });
    const online = () => readFileSync(join(pod.dir, "sys/devices/system/memory/memory0/online"), "utf8").trim();
    for (let i = 0; i < 100 && online() !== "1"; i++) await Bun.sleep(20);
    expect(online()).toBe("1");
  });

  test("RemoveContainer and DestroySandbox leave the share as it was", async () => {
    await rpc(c, "SignalProcess", { container_id: pod.cid, exec_id: "", signal: 9 });
    await rpc(c, "WaitProcess", { container_id: pod.cid, exec_id: pod.cid });
    await rpc(c, "RemoveContainer", { container_id: pod.cid, timeout: 0 });
    expect(existsSync(pod.guest(`/run/kata-containers/${pod.cid}`))).toBe(false);
    await rpc(c, "DestroySandbox", {});
    expect(await agent.proc.exited).toBe(0);
    expect(pod.kataMounts().map((m) => m.mountPoint)).toEqual([SHARED]);
    expect(readdirSync(join(pod.share, "passthrough")).sort()).toEqual(shareListing);
    expect(existsSync(join(pod.share, "passthrough", pod.cid, "rootfs", "bin", "busybox"))).toBe(true);
    expect(childrenOf(agent.proc.pid)).toEqual([]);
  });
});
