// A pod as the Kata runtime shapes it (kata-guest-integration notes §2.2 steps 6, 8, 11, 16):
// CreateSandbox{hostname}, then the pause container and an app container whose specs list only
// [ipc, uts, mount] (the runtime strips pid and network), the app with or without sandbox_pidns.
// Checked from the outside (/proc/<pid>/ns) and from the inside (ExecProcess, which in this shape
// must still land in the container's pid namespace), plus SignalProcess's SIGTERM→SIGKILL rule.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { grpc } from "../../src/gen/index.ts";
import type { ISpec } from "../../src/container/oci-types.ts";
import { cgroupDirs, childrenOf, Code, failure, isRoot, readAll, rpc, startHarness, text, type Harness } from "./containers-harness.ts";
import { missing } from "../helpers/require.ts";

let h: Harness | undefined;

/** What constrainGRPCSpec leaves of a spec's namespaces: ipc, uts, mount. */
function runtimeShape(spec: ISpec): ISpec {
  spec.Linux!.Namespaces = [{ Type: "ipc", Path: "" }, { Type: "uts", Path: "" }, { Type: "mount", Path: "" }];
  return spec;
}

async function createStarted(hh: Harness, cid: string, args: string[], sandboxPidns: boolean): Promise<void> {
  const spec = runtimeShape(hh.spec(args, { cid, hostname: "pod-host" }));
  await rpc(hh.c, "CreateContainer", { container_id: cid, exec_id: cid, OCI: spec as grpc.ISpec, sandbox_pidns: sandboxPidns });
  await rpc(hh.c, "StartContainer", { container_id: cid });
}

/** The init's pid: the process of the container's cgroup that is the agent's child. */
function initPid(hh: Harness, cid: string): number {
  const dir = cgroupDirs(`${hh.cgroupPrefix}/${cid}`).find((d) => d.includes("/memory/")) ?? cgroupDirs(`${hh.cgroupPrefix}/${cid}`)[0]!;
  const kids = new Set(childrenOf(hh.pid));
  const pids = readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number).filter((p) => kids.has(p));
  expect(pids.length).toBe(1);
  return pids[0]!;
}

const ns = (pid: number | "self", kind: string) => readlinkSync(`/proc/${pid}/ns/${kind}`);

async function execOut(hh: Harness, cid: string, execId: string, script: string): Promise<string> {
  const p = runtimeShape(hh.spec(["sh", "-c", script])).Process as grpc.IProcess;
  await rpc(hh.c, "ExecProcess", { container_id: cid, exec_id: execId, process: p });
  const out = text(await readAll(hh.c, cid, execId, "ReadStdout"));
  const st = await rpc(hh.c, "WaitProcess", { container_id: cid, exec_id: execId });
  expect(st.status ?? 0).toBe(0);
  return out;
}

function run(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

async function destroy(hh: Harness): Promise<void> {
  const kids = childrenOf(hh.pid);
  await rpc(hh.c, "DestroySandbox", {});
  expect(await hh.agent.proc.exited).toBe(0);
  expect(kids.filter((p) => existsSync(`/proc/${p}`))).toEqual([]);
}

describe.skipIf(missing({ root: isRoot }))("pod namespaces (runtime-shaped specs)", () => {
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  test("pause + app share the sandbox's IPC and UTS namespaces; SysV shm made in one is seen in the other", async () => {
    h = await startHarness();
    await rpc(h.c, "CreateSandbox", { sandbox_id: "pod-ipc", hostname: "pod-host", sandbox_pidns: false });
    await createStarted(h, "pause", ["sleep", "1000"], false);
    await createStarted(h, "app", ["sleep", "1000"], false);
    const pause = initPid(h, "pause");
    const app = initPid(h, "app");
    for (const kind of ["ipc", "uts"]) {
      expect(ns(app, kind)).toBe(ns(pause, kind));
      expect(ns(pause, kind)).not.toBe(ns("self", kind));
    }
    // The hostname was set inside the pod's UTS namespace, not on this machine.
    expect(await execOut(h, "app", "hn", "hostname")).toBe("pod-host\n");
    expect(readFileSync("/proc/sys/kernel/hostname", "utf8")).not.toBe("pod-host\n");
    // A segment made in the pause container's IPC namespace is listed inside the app container.
    const made = run(["nsenter", "-t", String(pause), "-i", "ipcmk", "-M", "4096"]);
    const shmid = /(\d+)\s*$/.exec(made.trim())?.[1];
    expect(shmid).toBeDefined();
    const inApp = await execOut(h, "app", "ipc", "cat /proc/sysvipc/shm");
    expect(inApp.split("\n").some((l) => l.trim().split(/\s+/)[1] === shmid && l.includes(" 4096 "))).toBe(true);
    await destroy(h);
  });

  test("sandbox_pidns=true joins the first container's pid namespace; false makes its own", async () => {
    h = await startHarness();
    await rpc(h.c, "CreateSandbox", { sandbox_id: "pod-pid", hostname: "pod-host" });
    await createStarted(h, "pause", ["sleep", "1000"], false);
    await createStarted(h, "shared", ["sleep", "999"], true);
    await createStarted(h, "alone", ["sleep", "998"], false);
    const [pause, shared, alone] = ["pause", "shared", "alone"].map((c) => initPid(h!, c));
    expect(ns(shared!, "pid")).toBe(ns(pause!, "pid"));
    expect(ns(alone!, "pid")).not.toBe(ns(pause!, "pid"));
    // From inside: the shared container sees the pause process; ExecProcess works in this shape
    // (the spec has no pid namespace, the exec'd process still joins the container's).
    const seen = await execOut(h, "shared", "ps", "ps -o pid,args");
    expect(seen).toMatch(/^\s*1 sleep 1000$/m);
    expect(seen).toMatch(/sleep 999/);
    const own = await execOut(h, "alone", "ps", "ps -o pid,args");
    expect(own).toMatch(/^\s*1 sleep 998$/m);
    expect(own).not.toMatch(/sleep 1000/);
    expect(await execOut(h, "alone", "oom", "cat /proc/self/oom_score_adj")).toBe("0\n");
    await destroy(h);
  });

  test("SIGTERM to an init without a handler kills it within 1 s; a trapping shell keeps running", async () => {
    h = await startHarness();
    await rpc(h.c, "CreateSandbox", { sandbox_id: "pod-term", hostname: "pod-host" });
    await createStarted(h, "sleeper", ["sleep", "1000"], false);
    await createStarted(h, "trapper", ["sh", "-c", "trap 'echo got TERM' TERM; echo ready; while true; do sleep 0.1; done"], false);
    // The trap is installed once the shell printed "ready".
    const first = await rpc(h.c, "ReadStdout", { container_id: "trapper", exec_id: "trapper", len: 100 });
    expect(text(first.data ?? new Uint8Array(0))).toContain("ready");

    const t0 = performance.now();
    await rpc(h.c, "SignalProcess", { container_id: "sleeper", exec_id: "sleeper", signal: 15 });
    const st = await rpc(h.c, "WaitProcess", { container_id: "sleeper", exec_id: "sleeper" });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(st.status).toBe(128 + 9);

    await rpc(h.c, "SignalProcess", { container_id: "trapper", exec_id: "trapper", signal: 15 });
    const got = await rpc(h.c, "ReadStdout", { container_id: "trapper", exec_id: "trapper", len: 100 });
    expect(text(got.data ?? new Uint8Array(0))).toContain("got TERM");
    await Bun.sleep(1000);
    expect(existsSync(`/proc/${initPid(h, "trapper")}`)).toBe(true);
    await h.removeQuietly("sleeper", "trapper");
    await destroy(h);
  });

  test("shared_mounts are refused naming the field, not ignored", async () => {
    h = await startHarness();
    const spec = runtimeShape(h.spec(["sleep", "1"], { cid: "sm" }));
    const f = await failure(rpc(h.c, "CreateContainer", {
      container_id: "sm", exec_id: "sm", OCI: spec as grpc.ISpec,
      shared_mounts: [{ name: "m", src_ctr: "a", src_path: "/x", dst_ctr: "sm", dst_path: "/y" }],
    }));
    expect(f.code).toBe(Code.INVALID_ARGUMENT);
    expect(f.message).toContain("shared_mounts");
    await h.assertClean();
  });

  test("a flagged container after the first one is gone still joins the recorded pid namespace path or fails naming it", async () => {
    h = await startHarness();
    await rpc(h.c, "CreateSandbox", { sandbox_id: "pod-gone", hostname: "pod-host" });
    await createStarted(h, "pause", ["sleep", "1000"], false);
    await h.removeQuietly("pause");
    const f = await failure(createStarted(h, "late", ["sleep", "1000"], true));
    expect(f.code).not.toBe(Code.OK);
    expect(f.message).toMatch(/ns\/pid/);
    await destroy(h);
  });
});
