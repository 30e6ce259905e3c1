// Container lifecycle end to end against the compiled agent: create/start/read/wait/remove, exit
// codes, several waiters, signals, output delivered after exit, ReadStdout after WaitProcess, and
// that nothing (mounts, cgroups, processes, fds) is left behind.
import { describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirs, childrenOf, Code, failure, fdCount, fdTargets, isRoot, readAll, rpc, useHarness, text, type Harness } from "./containers-harness.ts";
import { missing } from "../helpers/require.ts";

let h: Harness;
const cids = new Set<string>();

describe.skipIf(missing({ root: isRoot }))("container lifecycle", () => {
  useHarness(cids, (x) => {
    h = x;
  });

  async function run(cid: string, args: string[]): Promise<void> {
    cids.add(cid);
    await h.create(cid, h.spec(args, { cid }));
    await rpc(h.c, "StartContainer", { container_id: cid });
  }

  test("sh -c 'echo hello; echo err >&2; exit 7': stdout, stderr until EOF, exit 7", async () => {
    const t0 = performance.now();
    await run("life1", ["sh", "-c", "echo hello; echo err >&2; exit 7"]);
    // The leak checks look where the agent puts things: the cgroup exists while the container does.
    expect(cgroupDirs(`${h.cgroupPrefix}/life1`).length).toBeGreaterThanOrEqual(5);
    const [out, err, wait] = await Promise.all([
      readAll(h.c, "life1", "", "ReadStdout"),
      readAll(h.c, "life1", "life1", "ReadStderr"),
      rpc(h.c, "WaitProcess", { container_id: "life1", exec_id: "" }),
    ]);
    expect(text(out)).toBe("hello\n");
    expect(text(err)).toBe("err\n");
    expect(wait.status).toBe(7);
    await rpc(h.c, "RemoveContainer", { container_id: "life1", timeout: 0 });
    cids.delete("life1");
    console.log(`lifecycle (create → remove): ${(performance.now() - t0).toFixed(1)} ms`);
  });

  test("several concurrent WaitProcess callers all get the code", async () => {
    await run("waiters", ["sh", "-c", "sleep 0.3; exit 3"]);
    const others = await Promise.all([h.agent.client(), h.agent.client()]);
    const waits = await Promise.all([
      rpc(h.c, "WaitProcess", { container_id: "waiters", exec_id: "" }),
      rpc(h.c, "WaitProcess", { container_id: "waiters", exec_id: "waiters" }),
      rpc(others[0]!, "WaitProcess", { container_id: "waiters", exec_id: "" }),
      rpc(others[1]!, "WaitProcess", { container_id: "waiters", exec_id: "" }),
    ]);
    expect(waits.map((w) => w.status)).toEqual([3, 3, 3, 3]);
    for (const o of others) await o.close();
  });

  test("output written just before exit is delivered; ReadStdout after WaitProcess returns it, then EOF", async () => {
    await run("late", ["sh", "-c", "seq 1 20000; echo last line; exit 0"]);
    const w = await rpc(h.c, "WaitProcess", { container_id: "late", exec_id: "" });
    expect(w.status).toBe(0);
    const out = text(await readAll(h.c, "late", "", "ReadStdout", 4096));
    const lines = out.trimEnd().split("\n");
    expect(lines.length).toBe(20001);
    expect(lines[0]).toBe("1");
    expect(lines[19999]).toBe("20000");
    expect(lines[20000]).toBe("last line");
    expect(text(await readAll(h.c, "late", "", "ReadStderr"))).toBe("");
  });

  test("SIGTERM → 143, SIGKILL → 137", async () => {
    // A container's pid 1 ignores signals it has no handler for (pid-namespace init rule), so
    // SIGTERM is sent to an exec'd process; SIGKILL also works on the init.
    await run("kill", ["sleep", "1000"]);
    await rpc(h.c, "ExecProcess", { container_id: "kill", exec_id: "term", process: h.spec(["sleep", "999"]).Process as never });
    const bad = await failure(rpc(h.c, "SignalProcess", { container_id: "kill", exec_id: "term", signal: 999 }));
    expect(bad.code).toBe(Code.INVALID_ARGUMENT);
    expect(bad.message).toContain("signal 999 is not a valid signal");
    await rpc(h.c, "SignalProcess", { container_id: "kill", exec_id: "term", signal: 15 });
    // Its output read to EOF first: then WaitProcess removes the entry at once (otherwise it stays
    // readable for a while after the wait, see "ReadStdout after WaitProcess").
    expect((await readAll(h.c, "kill", "term", "ReadStdout")).length).toBe(0);
    expect((await readAll(h.c, "kill", "term", "ReadStderr")).length).toBe(0);
    expect((await rpc(h.c, "WaitProcess", { container_id: "kill", exec_id: "term" })).status).toBe(143);
    await rpc(h.c, "SignalProcess", { container_id: "kill", exec_id: "kill", signal: 9 });
    expect((await rpc(h.c, "WaitProcess", { container_id: "kill", exec_id: "" })).status).toBe(137);
    // Signalling an exited init is not an error (ESRCH); a waited-for exec id is gone.
    await rpc(h.c, "SignalProcess", { container_id: "kill", exec_id: "", signal: 9 });
    expect((await failure(rpc(h.c, "SignalProcess", { container_id: "kill", exec_id: "term", signal: 9 }))).code).toBe(Code.NOT_FOUND);
  });

  test("an init with a TERM handler exits on SIGTERM", async () => {
    await run("trap", ["sh", "-c", "trap 'exit 143' TERM; while :; do sleep 0.05; done"]);
    await Bun.sleep(100);
    await rpc(h.c, "SignalProcess", { container_id: "trap", exec_id: "", signal: 15 });
    expect((await rpc(h.c, "WaitProcess", { container_id: "trap", exec_id: "" })).status).toBe(143);
  });

  test("empty exec_id + SIGKILL kills every process, exec'd ones included", async () => {
    await run("all", ["sleep", "1000"]);
    const proc = h.spec(["sleep", "999"]).Process!;
    await rpc(h.c, "ExecProcess", { container_id: "all", exec_id: "e1", process: proc as never });
    await rpc(h.c, "ExecProcess", { container_id: "all", exec_id: "e2", process: proc as never });
    const waits = Promise.all(["", "e1", "e2"].map((e) => rpc(h.c, "WaitProcess", { container_id: "all", exec_id: e })));
    await rpc(h.c, "SignalProcess", { container_id: "all", exec_id: "", signal: 9 });
    expect((await waits).map((w) => w.status)).toEqual([137, 137, 137]);
  });

  test("RemoveContainer of a created (never started) container", async () => {
    cids.add("unstarted");
    await h.create("unstarted", h.spec(["true"], { cid: "unstarted" }));
    await rpc(h.c, "RemoveContainer", { container_id: "unstarted", timeout: 5 });
    cids.delete("unstarted");
    const f = await failure(rpc(h.c, "StartContainer", { container_id: "unstarted" }));
    expect(f.code).toBe(Code.INVALID_ARGUMENT);
  });

  test("RemoveContainer of a running container kills it", async () => {
    await run("running", ["sleep", "1000"]);
    const t0 = performance.now();
    await rpc(h.c, "RemoveContainer", { container_id: "running", timeout: 5 });
    cids.delete("running");
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  test("concurrent RemoveContainer calls: one removal, poststop runs once, all callers answered", async () => {
    const log = join(h.dir, "poststop-once.log");
    const hook = join(h.dir, "poststop-once.sh");
    writeFileSync(hook, `#!/bin/sh\ncat > /dev/null; echo poststop >> ${log}\n`);
    chmodSync(hook, 0o755);
    const spec = h.spec(["sleep", "1000"], { cid: "rmrace" });
    spec.Hooks = { Poststop: [{ Path: hook }] };
    cids.add("rmrace");
    await h.create("rmrace", spec);
    await rpc(h.c, "StartContainer", { container_id: "rmrace" });
    const results = await Promise.all([1, 2, 3].map(() => failure(rpc(h.c, "RemoveContainer", { container_id: "rmrace", timeout: 5 }))));
    cids.delete("rmrace");
    // Every caller sees success or "not found" (it was gone by then), never an internal error.
    for (const r of results) expect([Code.OK, Code.INVALID_ARGUMENT]).toContain(r.code);
    expect(results.filter((r) => r.code === Code.OK).length).toBeGreaterThanOrEqual(1);
    expect(readFileSync(log, "utf8")).toBe("poststop\n");
  });

  test("StartContainer racing RemoveContainer leaves nothing behind", async () => {
    for (let i = 0; i < 5; i++) {
      const cid = `startrm${i}`;
      cids.add(cid);
      await h.create(cid, h.spec(["sleep", "1000"], { cid }));
      const [s, r] = await Promise.all([
        failure(rpc(h.c, "StartContainer", { container_id: cid })),
        failure(rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 5 })),
      ]);
      expect(r.code).toBe(Code.OK);
      expect([Code.OK, Code.FAILED_PRECONDITION, Code.INTERNAL]).toContain(s.code);
      cids.delete(cid);
    }
  });

  test("no fd growth in the agent across 30 lifecycles", async () => {
    const once = async (i: number) => {
      const cid = `fd${i}`;
      await run(cid, ["sh", "-c", "echo out; echo err >&2"]);
      await readAll(h.c, cid, "", "ReadStdout");
      await readAll(h.c, cid, "", "ReadStderr");
      await rpc(h.c, "WaitProcess", { container_id: cid, exec_id: "" });
      await rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 0 });
      cids.delete(cid);
    };
    await once(0); // warm-up: lazily opened fds (gate memfd, library) are not leaks
    await Bun.sleep(100);
    const before = fdTargets(h.pid);
    const t0 = performance.now();
    for (let i = 1; i <= 30; i++) await once(i);
    const ms = (performance.now() - t0) / 30;
    await Bun.sleep(200);
    const after = fdTargets(h.pid);
    console.log(`lifecycle with stdout/stderr read: ${ms.toFixed(1)} ms each; agent fds ${before.length} → ${after.length}`);
    if (after.length > before.length) expect(after.filter((x) => !before.includes(x))).toEqual([]);
    expect(fdCount(h.pid)).toBeLessThanOrEqual(before.length);
  }, 120_000);

  test("no fd or process growth across 20 rounds of init + exec with stdin + exec with a tty", async () => {
    const round = async (i: number) => {
      const cid = `mix${i}`;
      await run(cid, ["sleep", "1000"]);
      const cat = h.spec(["cat"]).Process!;
      await rpc(h.c, "ExecProcess", { container_id: cid, exec_id: "cat", process: cat as never });
      await rpc(h.c, "WriteStdin", { container_id: cid, exec_id: "cat", data: new TextEncoder().encode(`round ${i}\n`) });
      await rpc(h.c, "CloseStdin", { container_id: cid, exec_id: "cat" });
      expect(text(await readAll(h.c, cid, "cat", "ReadStdout"))).toBe(`round ${i}\n`);
      const tty = h.spec(["sh", "-c", "echo tty"], { terminal: true }).Process!;
      await rpc(h.c, "ExecProcess", { container_id: cid, exec_id: "tty", process: tty as never });
      expect(text(await readAll(h.c, cid, "tty", "ReadStdout"))).toBe("tty\r\n");
      await rpc(h.c, "WaitProcess", { container_id: cid, exec_id: "cat" });
      await rpc(h.c, "WaitProcess", { container_id: cid, exec_id: "tty" });
      await rpc(h.c, "RemoveContainer", { container_id: cid, timeout: 5 });
      cids.delete(cid);
    };
    await round(0);
    await Bun.sleep(200);
    const before = fdTargets(h.pid);
    const rssBefore = rssKiB(h.pid);
    for (let i = 1; i <= 20; i++) await round(i);
    await Bun.sleep(300);
    const after = fdTargets(h.pid);
    console.log(`20 mixed rounds: agent fds ${before.length} → ${after.length}, RSS ${rssBefore} → ${rssKiB(h.pid)} KiB`);
    expect(after.filter((x) => !before.includes(x))).toEqual([]);
    expect(childrenOf(h.pid)).toEqual([]);
  }, 60_000);
});

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}
