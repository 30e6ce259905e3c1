// The §2.2 pod replayed through containerd's Go ttRPC client (the library the Kata Go runtime
// uses): the same CreateSandbox / CreateContainer messages as storage-pod.test.ts, decoded by Go
// from proto-named JSON, then the checks the Go scenario prints (pod.go), and nothing left in the
// mount namespace once DestroySandbox answered.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildInteropClient, goAvailable } from "../interop/build.ts";
import { childrenOf, isRoot } from "./containers-harness.ts";
import { missing } from "../helpers/require.ts";
import { startAgent, type RunningAgent } from "../helpers/agent.ts";
import { makePod, SHARED, type Pod, stopPod } from "./storage-pod-fixture.ts";

let pod: Pod;
let agent: RunningAgent;
let bin: string;

describe.skipIf(missing({ "Go with containerd ttrpc": goAvailable(), root: isRoot, "inotifywait (inotify-tools)": !!Bun.which("inotifywait") }))("Go ttRPC client replays the pod", () => {
  beforeAll(async () => {
    bin = buildInteropClient();
    pod = await makePod(`g${process.pid % 1000}`);
    agent = await startAgent({ wrap: pod.wrap });
  }, 180_000);
  afterAll(() => stopPod(agent, pod));

  test("sandbox, pause and app with ConfigMap/emptyDirs; the change reaches inotify inside; nothing left", async () => {
    const file = join(pod.dir, "pod.json");
    writeFileSync(file, JSON.stringify({
      sandbox: pod.sandboxReq, pause: pod.pauseReq, app: pod.appReq,
      configMap: join(pod.share, `${pod.cid}-0123456789abcdef-config-volume`),
      ephemeral: "/run/kata-containers/sandbox/ephemeral/cache-volume",
    }));
    const p = Bun.spawn([bin, "-addr", agent.address, "-pod", file, "pod-replay"], { stdout: "pipe", stderr: "pipe", timeout: 120_000 });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`interop-client exit ${code}: ${err}\n${out}`);
    const r = JSON.parse(out.trim().split("\n").at(-1)!);
    console.log(`[pod-replay] ConfigMap change: inotify inside after ${r.inotify_ms} ms, new content read after ${r.configmap_ms} ms`);
    expect(r).toMatchObject({ scenario: "pod-replay", code: "OK", pause_shm: "from-go", volume_units: ["BYTES", "INODES"], volume_condition: "OK" });
    expect(r.app_sees).toBe("storage-pod\nnameserver 10.96.0.10\nsearch default.svc.cluster.local\nhello v1\ntmpfs\n");
    expect(r.storage_handlers).toEqual(expect.arrayContaining(["virtio-fs", "ephemeral", "local", "watchable-bind"]));
    expect(r.inotify).toContain("/etc/config/");
    expect(r.inotify_ms).toBeLessThan(3000);
    expect(r.configmap_ms).toBeLessThan(3000);
    expect(await agent.proc.exited).toBe(0);
    expect(pod.kataMounts().map((m) => m.mountPoint)).toEqual([SHARED]);
    expect(readdirSync(pod.guest("/run/kata-containers"))).toEqual(["shared"]);
    expect(existsSync(join(pod.share, pod.sid, "rootfs/local"))).toBe(false);
    expect(readdirSync(join(pod.share, "watchable"))).toEqual([]);
    expect(childrenOf(agent.proc.pid)).toEqual([]);
  });
});
