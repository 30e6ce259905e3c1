// The pod of notes §2.2 replayed on the host with our client: CreateSandbox with the runtime's
// virtio-fs and shm storages and dns, the pause container from the share, the app container with
// a ConfigMap (watchable-bind), a memory emptyDir (ephemeral) and a local emptyDir; what the
// containers see; a ConfigMap change seen by inotify inside within 3 s; nothing left after
// RemoveContainer and DestroySandbox. Root only: the agent runs in a mount namespace the test makes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import type { grpc } from "../../src/gen/index.ts";
import { childrenOf, isRoot, readAll, rpc, text } from "./containers-harness.ts";
import { startAgent, type RunningAgent } from "../helpers/agent.ts";
import { missing } from "../helpers/require.ts";
import type { TtrpcClient } from "../../src/ttrpc/client.ts";
import { makePod, podExec, SHARED, SHM, type Pod, stopPod } from "./storage-pod-fixture.ts";

let pod: Pod;
let agent: RunningAgent;
let c: TtrpcClient;
let seq = 0;

const exec = (cid: string, script: string): Promise<string> => podExec(c, cid, script);

describe.skipIf(missing({ root: isRoot, "inotifywait (inotify-tools)": !!Bun.which("inotifywait") }))("pod storage replay (notes §2.2)", () => {
  beforeAll(async () => {
    pod = await makePod(`o${process.pid % 1000}`);
    agent = await startAgent({ wrap: pod.wrap });
    c = await agent.client();
  }, 60_000);

  afterAll(() => stopPod(agent, pod));

  test("CreateSandbox: the premounted share is used as it is, shm is a 64 MiB tmpfs, dns bound over /etc/resolv.conf", async () => {
    await rpc(c, "CreateSandbox", pod.sandboxReq as never);
    const m = pod.kataMounts();
    const shm = m.find((x) => x.mountPoint === SHM);
    expect(shm?.fstype).toBe("tmpfs");
    expect(shm?.superOptions).toContain("size=65536k");
    expect(m.filter((x) => x.mountPoint === SHARED).length).toBe(1); // not mounted a second time
    expect(readFileSync(pod.guest("/etc/resolv.conf"), "utf8")).toBe("nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local\noptions ndots:5");
    expect(agent.logs()).toContain("kataShared is already mounted");
    const details = await rpc(c, "GetGuestDetails", { mem_block_size: true, mem_hotplug_probe: true });
    expect(details.agent_details?.storage_handlers).toEqual(expect.arrayContaining(["virtio-fs", "9p", "ephemeral", "local", "watchable-bind", "overlayfs", "bind"]));
  });

  test("pause and app containers run from the share with their storages; the bundle is in place", async () => {
    await rpc(c, "CreateContainer", pod.pauseReq as never);
    await rpc(c, "StartContainer", { container_id: pod.sid });
    await rpc(c, "UpdateEphemeralMounts", { storages: [] }); // the runtime always sends it
    await rpc(c, "CreateContainer", pod.appReq as never);
    await rpc(c, "StartContainer", { container_id: pod.cid });
    const cfg = JSON.parse(readFileSync(pod.guest(`/run/kata-containers/${pod.cid}/config.json`), "utf8"));
    expect(cfg.root.path).toBe(`/run/kata-containers/${pod.cid}/rootfs`);
    expect(cfg.ociVersion).toBe("1.1.0");
    expect(cfg.process.args).toEqual(["sleep", "100000"]);
    expect(cfg.annotations["io.kubernetes.cri.container-name"]).toBe("app");
    const out = await exec(pod.cid, [
      "hostname", "cat /etc/hostname", "cat /etc/resolv.conf", "cat /etc/config/greeting", "stat -f -c %T /cache",
      "stat -c %g:%a /cache", "stat -c %g:%a /data", "echo from-app > /dev/shm/shared-file", "touch /data/x /cache/y",
    ].join("; echo ---; "));
    const parts = out.split("---\n").map((s) => s.trim());
    expect(parts[0]).toBe("storage-pod");
    expect(parts[1]).toBe("storage-pod");
    expect(parts[2]).toContain("nameserver 10.96.0.10");
    expect(parts[3]).toBe("hello v1");
    expect(parts[4]).toBe("tmpfs");
    expect(parts[5]).toBe("2000:3777"); // tmpfs's 1777 + setgid
    expect(parts[6]).toBe("3000:2777");
    expect((await exec(pod.sid, "cat /dev/shm/shared-file")).trim()).toBe("from-app");
  });

  test("a ConfigMap change reaches the container within 3 s and inotify inside sees it", async () => {
    const id = `w${++seq}`;
    await rpc(c, "ExecProcess", {
      container_id: pod.cid, exec_id: id,
      process: { Args: ["inotifywait", "-q", "-t", "10", "-e", "create,modify,moved_to,delete", "/etc/config"], Env: ["PATH=/usr/bin:/bin"], Cwd: "/", User: { UID: 0, GID: 0 } } as grpc.IProcess,
    });
    await Bun.sleep(300); // inotifywait has set its watch
    const t0 = Date.now();
    pod.updateConfigMap("hello v2");
    const events = await readAll(c, pod.cid, id, "ReadStdout");
    const seenMs = Date.now() - t0;
    await rpc(c, "WaitProcess", { container_id: pod.cid, exec_id: id });
    expect(text(events)).toContain("/etc/config/");
    expect(seenMs).toBeLessThan(3000);
    let v = "";
    for (let i = 0; i < 30 && v !== "hello v2"; i++) {
      v = (await exec(pod.cid, "cat /etc/config/greeting")).trim();
      if (v !== "hello v2") await Bun.sleep(100);
    }
    expect(v).toBe("hello v2");
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  test("GetVolumeStats, GetDiagnosticData, RemoveStaleVirtiofsShareMounts", async () => {
    const st = await rpc(c, "GetVolumeStats", { volume_guest_path: "/run/kata-containers/sandbox/ephemeral/cache-volume" });
    expect(st.usage?.length).toBe(2);
    expect(Number(st.usage![0]!.total)).toBeGreaterThan(0);
    expect(Number(st.usage![1]!.used)).toBeGreaterThan(0); // the directory and the file /cache/y
    expect(st.volume_condition?.message).toBe("OK");
    await exec(pod.cid, "head -c 5000 /dev/zero | tr '\\0' x > /dev/termination-log");
    const d = await rpc(c, "GetDiagnosticData", { log_type: "termination_log", container_id: pod.cid });
    expect(d.data?.length).toBe(4096);
    await rpc(c, "RemoveStaleVirtiofsShareMounts", {});
  });

  test("RemoveContainer releases the app's storages, watcher and bundle; DestroySandbox the rest", async () => {
    await rpc(c, "SignalProcess", { container_id: pod.cid, exec_id: "", signal: 9 });
    await rpc(c, "WaitProcess", { container_id: pod.cid, exec_id: pod.cid });
    await rpc(c, "RemoveContainer", { container_id: pod.cid, timeout: 0 });
    const left = pod.kataMounts().map((m) => m.mountPoint).sort();
    expect(left).toEqual(["/etc/resolv.conf", SHARED, `/run/kata-containers/${pod.sid}/rootfs`, SHM].sort());
    expect(existsSync(pod.guest(`/run/kata-containers/${pod.cid}`))).toBe(false);
    expect(existsSync(pod.guest("/run/kata-containers/sandbox/ephemeral"))).toBe(false);
    expect(existsSync(`${pod.share}/${pod.sid}/rootfs/local`)).toBe(false); // the local dir made for the volume
    expect(readdirSync(`${pod.share}/watchable`)).toEqual([]);
    expect(agent.logs()).toContain('"storage released"');
    await rpc(c, "DestroySandbox", {});
    expect(await agent.proc.exited).toBe(0);
    expect(pod.kataMounts().map((m) => m.mountPoint)).toEqual([SHARED]);
    expect(readdirSync(pod.guest("/run/kata-containers")).sort()).toEqual(["shared"]);
    expect(statSync(pod.guest("/etc/resolv.conf")).isFile()).toBe(true);
    expect(childrenOf(agent.proc.pid)).toEqual([]);
  });
});
