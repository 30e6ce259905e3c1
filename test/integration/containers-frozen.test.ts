// Issue 14 #1 (critical): no RPC sequence may leave the agent's only thread waiting on a frozen
// cgroup. ExecProcess on a paused container is FAILED_PRECONDITION; ExecProcess racing the
// freeze of SignalProcess(SIGKILL) or RemoveContainer is refused or served, never hung.
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirs, Code, failure, isRoot, rpc, useHarness, type Harness } from "./containers-harness.ts";

let h: Harness;
const cids = new Set<string>();
const CALL_NS = 5e9;

/** If the agent hangs, thaw its cgroups so the suite can clean up (and the failure is clear). */
function thawAll(cid: string): void {
  for (const d of cgroupDirs(`${h.cgroupPrefix}/${cid}`)) {
    const f = join(d, "freezer.state");
    if (existsSync(f)) try { writeFileSync(f, "THAWED"); } catch {}
  }
}

async function healthy(cid: string): Promise<void> {
  const t = setTimeout(() => thawAll(cid), 4000);
  try {
    await rpc(h.c, "GetGuestDetails", { mem_block_size: false }, CALL_NS);
  } finally {
    clearTimeout(t);
  }
}

const proc = (args: string[]) => ({ Args: args, Cwd: "/", Env: ["PATH=/bin:/usr/bin"] });

async function startSleeper(cid: string): Promise<void> {
  cids.add(cid);
  await rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: h.spec(["sleep", "1000"], { cid }) as never });
  await rpc(h.c, "StartContainer", { container_id: cid });
}

describe.skipIf(!isRoot)("a frozen cgroup never holds the agent", () => {
  useHarness(cids, (x) => {
    h = x;
  });

  test("PauseContainer then ExecProcess → FAILED_PRECONDITION; the agent keeps answering", async () => {
    await startSleeper("paused");
    await rpc(h.c, "PauseContainer", { container_id: "paused" });
    const watchdog = setTimeout(() => thawAll("paused"), 4000);
    const f = await failure(rpc(h.c, "ExecProcess", { container_id: "paused", exec_id: "e1", process: proc(["true"]) }, CALL_NS));
    clearTimeout(watchdog);
    expect(Code[f.code]).toBe("FAILED_PRECONDITION");
    expect(f.message).toContain("paused");
    await healthy("paused");
    await rpc(h.c, "ResumeContainer", { container_id: "paused" });
    await rpc(h.c, "ExecProcess", { container_id: "paused", exec_id: "e2", process: proc(["true"]) });
    expect((await rpc(h.c, "WaitProcess", { container_id: "paused", exec_id: "e2" })).status).toBe(0);
  });

  test("ExecProcess racing SignalProcess(SIGKILL to all): refused or served, never hung", async () => {
    for (let i = 0; i < 5; i++) {
      const cid = `race${i}`;
      await startSleeper(cid);
      const kill = rpc(h.c, "SignalProcess", { container_id: cid, exec_id: "", signal: 9 }, CALL_NS);
      const execs = Array.from({ length: 3 }, (_, k) =>
        rpc(h.c, "ExecProcess", { container_id: cid, exec_id: `x${k}`, process: proc(["sleep", "1000"]) }, CALL_NS)
          .then(() => "ok", (e) => Code[(e as { code: number }).code]));
      const watchdog = setTimeout(() => thawAll(cid), 4000);
      const outcomes = await Promise.all(execs);
      await kill;
      clearTimeout(watchdog);
      for (const o of outcomes) expect(["ok", "FAILED_PRECONDITION"]).toContain(o);
      await healthy(cid);
      await rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 5 });
      cids.delete(cid);
    }
  });

  test("ExecProcess racing RemoveContainer: refused or served, never hung", async () => {
    for (let i = 0; i < 5; i++) {
      const cid = `rm${i}`;
      await startSleeper(cid);
      const remove = rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 5 }, CALL_NS);
      const exec = rpc(h.c, "ExecProcess", { container_id: cid, exec_id: "x", process: proc(["sleep", "1000"]) }, CALL_NS)
        .then(() => "ok", (e) => Code[(e as { code: number }).code]);
      const watchdog = setTimeout(() => thawAll(cid), 4000);
      const outcome = await exec;
      await remove.catch(() => undefined);
      clearTimeout(watchdog);
      expect(["ok", "FAILED_PRECONDITION", "INVALID_ARGUMENT"]).toContain(outcome);
      await healthy(cid);
      await h.removeQuietly(cid);
      cids.delete(cid);
    }
  });
});
