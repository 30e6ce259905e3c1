// The sandbox around containers, against the compiled agent: CreateSandbox with a shared pid
// namespace, DestroySandbox removing every container (and then stopping the agent, which is
// what a non-PID-1 agent does), and a sandbox without sandbox_pidns.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { grpc } from "../../src/gen/index.ts";
import { cgroupDirs, childrenOf, Code, failure, isRoot, readAll, rpc, startHarness, text, type Harness } from "./containers-harness.ts";
import { missing } from "../helpers/require.ts";

let h: Harness | undefined;

async function startSleeper(hh: Harness, cid: string): Promise<void> {
  await hh.create(cid, hh.spec(["sleep", "1000"], { cid }));
  await rpc(hh.c, "StartContainer", { container_id: cid });
}

async function execOut(hh: Harness, cid: string, execId: string, script: string): Promise<string> {
  await rpc(hh.c, "ExecProcess", { container_id: cid, exec_id: execId, process: hh.spec(["sh", "-c", script]).Process as grpc.IProcess });
  const out = text(await readAll(hh.c, cid, execId, "ReadStdout"));
  await rpc(hh.c, "WaitProcess", { container_id: cid, exec_id: execId });
  return out;
}

describe.skipIf(missing({ root: isRoot }))("sandbox", () => {
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  test("sandbox_pidns: containers share one pid namespace; DestroySandbox removes everything and the agent exits", async () => {
    h = await startHarness();
    await rpc(h.c, "CreateSandbox", { sandbox_id: "pod1", sandbox_pidns: true, hostname: "pod-host" });
    const again = await failure(rpc(h.c, "CreateSandbox", { sandbox_id: "pod1" }));
    expect(again.code).toBe(Code.ALREADY_EXISTS);
    await startSleeper(h, "pa");
    await startSleeper(h, "pb");
    const nsA = await execOut(h, "pa", "nsa", "readlink /proc/self/ns/pid; ps -o args | grep -c '^sleep 1000$'");
    const nsB = await execOut(h, "pb", "nsb", "readlink /proc/self/ns/pid");
    expect(nsA.split("\n")[0]).toBe(nsB.split("\n")[0]!);
    // Both sleepers are visible from either container.
    expect(nsA.split("\n")[1]).toBe("2");
    // The agent's children now: both inits and the process holding the shared pid namespace.
    const kids = childrenOf(h.pid);
    expect(kids.length).toBe(3);
    await rpc(h.c, "DestroySandbox", {});
    expect(await h.agent.proc.exited).toBe(0);
    // Everything it had started is gone (not merely re-parented when the agent exited).
    expect(kids.filter((p) => existsSync(`/proc/${p}`))).toEqual([]);
    for (const cid of ["pa", "pb"]) expect(cgroupDirs(`${h.cgroupPrefix}/${cid}`)).toEqual([]);
    expect(h.agent.logs()).toContain('"sandbox destroyed"');
  });

  test("without sandbox_pidns each container has its own pid namespace", async () => {
    h = await startHarness();
    await rpc(h.c, "CreateSandbox", { sandbox_id: "pod2" });
    await startSleeper(h, "qa");
    await startSleeper(h, "qb");
    const a = await execOut(h, "qa", "n1", "readlink /proc/self/ns/pid");
    const b = await execOut(h, "qb", "n2", "readlink /proc/self/ns/pid");
    expect(a).not.toBe(b);
    await h.removeQuietly("qa", "qb");
    // Left: the holder of the pod's IPC and UTS namespaces, until DestroySandbox.
    const kids = childrenOf(h.pid);
    expect(kids.length).toBe(1);
    await rpc(h.c, "DestroySandbox", {});
    expect(await h.agent.proc.exited).toBe(0);
    expect(existsSync(`/proc/${kids[0]}`)).toBe(false);
  });

  test("a sandbox id that is not a valid id → INVALID_ARGUMENT", async () => {
    h = await startHarness();
    const f = await failure(rpc(h.c, "CreateSandbox", { sandbox_id: "bad id" }));
    expect(f.code).toBe(Code.INVALID_ARGUMENT);
  });
});
