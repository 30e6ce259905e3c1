// Issue 14 #11: no pipe end may outlive the container it belonged to, whatever way the container
// ended (gate killed before StartContainer, start failures, exec'd processes whose output nobody read).
import { describe, expect, test } from "bun:test";
import { cgroupDirs, failure, fdTargets, isRoot, rpc, useHarness, type Harness } from "./containers-harness.ts";

let h: Harness;
const cids = new Set<string>();

const pipes = () => fdTargets(h.pid).filter((t) => t.includes("-> pipe:")).length;

async function settle(): Promise<void> {
  await Bun.sleep(300);
}

/** Output streams close a little after their process exits: wait for that, then compare. */
async function backTo(before: number): Promise<void> {
  const end = Date.now() + 5000;
  while (pipes() !== before && Date.now() < end) await Bun.sleep(50);
  expect(fdTargets(h.pid).filter((t) => t.includes("-> pipe:")).length).toBe(before);
}

describe.skipIf(!isRoot)("pipe ends are released", () => {
  useHarness(cids, (x) => {
    h = x;
  });

  test("StartContainer after the gate died, then RemoveContainer", async () => {
    // One container first: the agent's readiness thread (and its two pipes) starts with the first
    // output stream and stays for the agent's life; it is not a container's pipe.
    cids.add("warm");
    await rpc(h.c, "CreateContainer", { container_id: "warm", exec_id: "", OCI: h.spec(["true"], { cid: "warm" }) });
    await rpc(h.c, "RemoveContainer", { container_id: "warm", timeout: 5 });
    cids.delete("warm");
    await settle();
    const before = pipes();
    for (let i = 0; i < 5; i++) {
      const cid = `gone${i}`;
      cids.add(cid);
      await rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: h.spec(["sleep", "100"], { cid }) });
      const procs = (await Bun.file(`${cgroupDirs(`${h.cgroupPrefix}/${cid}`)[0]}/cgroup.procs`).text()).split("\n").filter(Boolean).map(Number);
      process.kill(procs[0]!, "SIGKILL");
      await Bun.sleep(50);
      await failure(rpc(h.c, "StartContainer", { container_id: cid }));
      await rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 5 });
      cids.delete(cid);
    }
    await backTo(before);
  });

  test("a failing StartContainer hook: the gate's start and status pipes are closed", async () => {
    await settle();
    const before = pipes();
    for (let i = 0; i < 3; i++) {
      const cid = `hookfail${i}`;
      cids.add(cid);
      const s = h.spec(["sleep", "100"], { cid });
      s.Hooks = { StartContainer: [{ Path: "/bin/false", Args: ["false"] }] };
      await rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: s as never });
      const f = await failure(rpc(h.c, "StartContainer", { container_id: cid }));
      expect(f.message).toContain("startContainer hook #0");
      await rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 5 });
      cids.delete(cid);
    }
    await backTo(before);
  });

  test("RemoveContainer while ReadStdout calls are pending and output was never read", async () => {
    await settle();
    const before = pipes();
    for (let i = 0; i < 5; i++) {
      const cid = `chatty${i}`;
      cids.add(cid);
      await rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: h.spec(["sh", "-c", "yes | head -c 1000000; sleep 100"], { cid }) });
      await rpc(h.c, "StartContainer", { container_id: cid });
      await rpc(h.c, "ExecProcess", { container_id: cid, exec_id: "e1", process: { Args: ["sh", "-c", "sleep 100 & yes"], Cwd: "/", Env: ["PATH=/bin:/usr/bin"] } });
      const pending = rpc(h.c, "ReadStderr", { container_id: cid, exec_id: "e1", len: 10 }).catch(() => undefined);
      await Bun.sleep(50);
      await rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 5 });
      cids.delete(cid);
      await pending;
    }
    await backTo(before);
  });

  test("a process that exits while its output is being read, waited for, never read to EOF", async () => {
    await settle();
    const before = pipes();
    const cid = "waited";
    cids.add(cid);
    await rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: h.spec(["sleep", "100"], { cid }) });
    await rpc(h.c, "StartContainer", { container_id: cid });
    for (let i = 0; i < 5; i++) {
      await rpc(h.c, "ExecProcess", { container_id: cid, exec_id: `x${i}`, process: { Args: ["sh", "-c", "head -c 300000 /dev/zero; echo done >&2"], Cwd: "/", Env: ["PATH=/bin:/usr/bin"] } });
      await rpc(h.c, "ReadStdout", { container_id: cid, exec_id: `x${i}`, len: 100 });
      await rpc(h.c, "WaitProcess", { container_id: cid, exec_id: `x${i}` });
    }
    await rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 5 });
    cids.delete(cid);
    await backTo(before);
  });
});
