// Guest hooks (CreateSandbox.guest_hook_path) that get the bundle in the OCI state and read its
// config.json; a bind storage with fs_group ownership; an overlayfs storage with the per-container
// rw layer — on the real agent in a mount namespace the test makes, nothing left afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isRoot, rpc } from "./containers-harness.ts";
import { startAgent, type RunningAgent } from "../helpers/agent.ts";
import { missing } from "../helpers/require.ts";
import type { TtrpcClient } from "../../src/ttrpc/client.ts";
import { makePod, SHARED, type Pod, stopPod } from "./storage-pod-fixture.ts";

let pod: Pod;
let agent: RunningAgent;
let c: TtrpcClient;

describe.skipIf(missing({ root: isRoot, "inotifywait (inotify-tools)": !!Bun.which("inotifywait") }))("storage drivers and guest hooks", () => {
  beforeAll(async () => {
    pod = await makePod(`d${process.pid % 1000}`);
    const hooks = join(pod.dir, "hooks");
    for (const kind of ["prestart", "poststop"]) {
      mkdirSync(join(hooks, kind), { recursive: true });
      const script = join(hooks, kind, "record.sh");
      // The OCI state arrives on stdin; args are [name, type] (argv[0], $1); a prestart hook copies the bundle's config.json.
      writeFileSync(script, `#!/bin/sh\nstate=$(cat)\necho "$state" > ${pod.dir}/$1-state.json\n` +
        `b=$(echo "$state" | sed -n 's/.*"bundle":"\\([^"]*\\)".*/\\1/p')\n[ "$1" = prestart ] && cp "$b/config.json" ${pod.dir}/config-from-hook.json\nexit 0\n`);
      chmodSync(script, 0o755);
    }
    mkdirSync(join(pod.share, "fsgroup-vol/sub"), { recursive: true });
    writeFileSync(join(pod.share, "fsgroup-vol/sub/f"), "x");
    chmodSync(join(pod.share, "fsgroup-vol/sub/f"), 0o600);
    mkdirSync(join(pod.share, "lower"));
    writeFileSync(join(pod.share, "lower/base"), "from lower");
    agent = await startAgent({ wrap: pod.wrap });
    c = await agent.client();
  }, 60_000);

  afterAll(() => stopPod(agent, pod));

  test("guest hooks run for every container with the bundle path; fs_group and overlay storages", async () => {
    await rpc(c, "CreateSandbox", { ...pod.sandboxReq, guest_hook_path: join(pod.dir, "hooks") } as never);
    await rpc(c, "CreateContainer", pod.pauseReq as never);
    const state = JSON.parse(readFileSync(join(pod.dir, "prestart-state.json"), "utf8"));
    expect(state.bundle).toBe(`/run/kata-containers/${pod.sid}`);
    expect(state.id).toBe(pod.sid);
    const cfg = JSON.parse(readFileSync(join(pod.dir, "config-from-hook.json"), "utf8"));
    expect(cfg.root).toEqual({ path: `/run/kata-containers/${pod.sid}/rootfs`, readonly: true });

    const app = structuredClone(pod.appReq) as { storages: unknown[]; OCI: { Mounts: { destination: string }[] } };
    app.storages = [
      { driver: "bind", source: `${SHARED}/fsgroup-vol`, fstype: "bind", options: [], mount_point: "/run/kata-containers/sandbox/fsg", fs_group: { group_id: 4000, group_change_policy: 0 } },
      { driver: "overlayfs", source: "overlay", fstype: "overlay", options: [`lowerdir=${SHARED}/lower`, "io.katacontainers.fs-opt.overlay-rw"], mount_point: "/run/kata-containers/sandbox/ov" },
    ];
    app.OCI.Mounts = app.OCI.Mounts.filter((m) => !["/etc/config", "/cache", "/data"].includes(m.destination));
    await rpc(c, "CreateContainer", app as never);
    const f = statSync(join(pod.share, "fsgroup-vol/sub/f"));
    expect(f.gid).toBe(4000);
    expect(f.mode & 0o7777).toBe(0o660);
    expect(statSync(join(pod.share, "fsgroup-vol/sub")).mode & 0o2070).toBe(0o2070);
    const ov = pod.kataMounts().find((m) => m.mountPoint === "/run/kata-containers/sandbox/ov");
    expect(ov?.fstype).toBe("overlay");
    expect(ov?.superOptions.join(",")).toContain(`upperdir=/run/kata-containers/${pod.cid}/upper`);
    expect(readFileSync(pod.guest("/run/kata-containers/sandbox/ov/base"), "utf8")).toBe("from lower");

    await rpc(c, "RemoveContainer", { container_id: pod.cid, timeout: 5 });
    expect(JSON.parse(readFileSync(join(pod.dir, "poststop-state.json"), "utf8")).bundle).toBe(`/run/kata-containers/${pod.cid}`);
    expect(existsSync(pod.guest(`/run/kata-containers/${pod.cid}`))).toBe(false);
    expect(pod.kataMounts().map((m) => m.mountPoint)).not.toContain("/run/kata-containers/sandbox/ov");
    expect(pod.kataMounts().map((m) => m.mountPoint)).not.toContain("/run/kata-containers/sandbox/fsg");
    await rpc(c, "DestroySandbox", {});
    expect(await agent.proc.exited).toBe(0);
    expect(pod.kataMounts().map((m) => m.mountPoint)).toEqual([SHARED]);
  });
});
