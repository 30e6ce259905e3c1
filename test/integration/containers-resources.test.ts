// Container resources against the compiled agent on the host's cgroup v1 controllers: a memory
// limit that OOM-kills (WaitProcess 137, GetOOMEvent), a pids limit, UpdateContainer,
// StatsContainer, Pause/Resume.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { grpc } from "../../src/gen/index.ts";
import { Code, eventually, failure, isRoot, readAll, rpc, useHarness, text, type Harness } from "./containers-harness.ts";
import { missing } from "../helpers/require.ts";

let h: Harness;
const cids = new Set<string>();
const MiB = 1 << 20;

function cg(controller: string, cid: string, file: string): string {
  return readFileSync(join("/sys/fs/cgroup", controller, h.cgroupPrefix, cid, file), "utf8").trim();
}

async function run(cid: string, args: string[], resources: grpc.ILinuxResources): Promise<void> {
  cids.add(cid);
  const spec = h.spec(args, { cid });
  spec.Linux!.Resources = { ...spec.Linux!.Resources, ...resources };
  await h.create(cid, spec);
  await rpc(h.c, "StartContainer", { container_id: cid });
}

describe.skipIf(missing({ root: isRoot }))("container resources (cgroup v1)", () => {
  useHarness(cids, (x) => {
    h = x;
  });

  test("32 MiB memory limit, 100 MiB allocation → 137 and GetOOMEvent names the container", async () => {
    const oom = rpc(h.c, "GetOOMEvent", {});
    // tail keeps the whole "line" of /dev/zero (no newline ever comes) in memory.
    await run("oomer", ["tail", "/dev/zero"], { Memory: { Limit: 32 * MiB, Swap: 32 * MiB } });
    expect(cg("memory", "oomer", "memory.limit_in_bytes")).toBe(String(32 * MiB));
    const w = await rpc(h.c, "WaitProcess", { container_id: "oomer", exec_id: "" });
    expect(w.status).toBe(137);
    const ev = await Promise.race([oom, Bun.sleep(5000).then(() => ({ container_id: "<no OOM event>" }))]);
    expect(ev.container_id).toBe("oomer");
  });

  test("an OOM kill of a process the agent did not start is reported while the container runs", async () => {
    const oom = rpc(h.c, "GetOOMEvent", {});
    await run("oomchild", ["sh", "-c", "tail /dev/zero; echo survived; exec sleep 1000"], { Memory: { Limit: 32 * MiB, Swap: 32 * MiB } });
    const out = await rpc(h.c, "ReadStdout", { container_id: "oomchild", exec_id: "", len: 100 });
    expect(text(out.data!)).toBe("survived\n");
    const t0 = performance.now();
    const ev = await Promise.race([oom, Bun.sleep(5000).then(() => ({ container_id: "<no OOM event>" }))]);
    expect(ev.container_id).toBe("oomchild");
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  test("pids limit 10: a fork loop cannot go past it", async () => {
    await run("pids", ["sleep", "1000"], { Pids: { Limit: 10 } });
    expect(cg("pids", "pids", "pids.max")).toBe("10");
    // busybox sh gives up at the first fork that fails ("can't fork"), so it never prints "all".
    const loop = "i=0; while [ $i -lt 30 ]; do sleep 100 & i=$((i+1)); done; echo all";
    await rpc(h.c, "ExecProcess", { container_id: "pids", exec_id: "bomb", process: h.spec(["sh", "-c", loop]).Process as never });
    const [out, err] = await Promise.all([readAll(h.c, "pids", "bomb", "ReadStdout"), readAll(h.c, "pids", "bomb", "ReadStderr")]);
    expect(text(err)).toContain("fork");
    expect(text(out)).toBe("");
    expect((await rpc(h.c, "WaitProcess", { container_id: "pids", exec_id: "bomb" })).status).not.toBe(0);
    // The init plus the sleeps that did start: never more than the limit.
    expect(Number(cg("pids", "pids", "pids.current"))).toBeLessThanOrEqual(10);
    expect(Number(cg("pids", "pids", "pids.current"))).toBeGreaterThan(5);
    expect(Number(cg("pids", "pids", "pids.events").split(" ")[1])).toBeGreaterThan(0); // "max N": forks refused
  });

  test("UpdateContainer changes memory.limit_in_bytes and pids.max; missing resources → INVALID_ARGUMENT", async () => {
    await run("upd", ["sleep", "1000"], { Memory: { Limit: 64 * MiB } });
    expect(cg("memory", "upd", "memory.limit_in_bytes")).toBe(String(64 * MiB));
    await rpc(h.c, "UpdateContainer", { container_id: "upd", resources: { Memory: { Limit: 48 * MiB }, Pids: { Limit: 50 } } });
    expect(cg("memory", "upd", "memory.limit_in_bytes")).toBe(String(48 * MiB));
    expect(cg("pids", "upd", "pids.max")).toBe("50");
    const f = await failure(rpc(h.c, "UpdateContainer", { container_id: "upd" }));
    expect(f.code).toBe(Code.INVALID_ARGUMENT);
    expect(f.message).toContain("resources");
  });

  test("StatsContainer returns non-zero cpu and memory", async () => {
    await run("stats", ["sh", "-c", "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; head -c 4000000 /dev/zero > /tmp/stats-file; exec sleep 1000"], {});
    await eventually("the busy loop finished", () => {
      try {
        return readFileSync(join(h.rootfs, "tmp/stats-file")).length === 4000000;
      } catch {
        return false;
      }
    }, 10_000);
    const s = await rpc(h.c, "StatsContainer", { container_id: "stats" });
    const st = s.cgroup_stats!;
    expect(Number(st.cpu_stats!.cpu_usage!.total_usage)).toBeGreaterThan(0);
    expect(Number(st.memory_stats!.usage!.usage)).toBeGreaterThan(0);
    expect(Number(st.pids_stats!.current)).toBe(1);
  });

  test("Pause freezes (no progress, freezer FROZEN), Resume thaws", async () => {
    await run("frz", ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/frz-count; sleep 0.01; done"], {});
    const count = () => {
      try {
        return Number(readFileSync(join(h.rootfs, "tmp/frz-count"), "utf8").trim() || "0");
      } catch {
        return 0; // not written yet
      }
    };
    await eventually("the counter runs", () => count() > 3);
    await rpc(h.c, "PauseContainer", { container_id: "frz" });
    expect(cg("freezer", "frz", "freezer.state")).toBe("FROZEN");
    const a = count();
    await Bun.sleep(200);
    expect(count()).toBe(a);
    const again = await failure(rpc(h.c, "PauseContainer", { container_id: "frz" }));
    expect(again.code).toBe(Code.FAILED_PRECONDITION);
    await rpc(h.c, "ResumeContainer", { container_id: "frz" });
    expect(cg("freezer", "frz", "freezer.state")).toBe("THAWED");
    await eventually("the counter runs again", () => count() > a + 3);
  });

  test("a paused container can be removed", async () => {
    await run("frzrm", ["sleep", "1000"], {});
    await rpc(h.c, "PauseContainer", { container_id: "frzrm" });
    await rpc(h.c, "RemoveContainer", { container_id: "frzrm", timeout: 5 });
    cids.delete("frzrm");
  });

  test("output of an OOM-killed process up to the kill is still readable", async () => {
    await run("oomout", ["sh", "-c", "echo before; tail /dev/zero"], { Memory: { Limit: 32 * MiB, Swap: 32 * MiB } });
    expect((await rpc(h.c, "WaitProcess", { container_id: "oomout", exec_id: "" })).status).toBe(137);
    expect(text(await readAll(h.c, "oomout", "", "ReadStdout"))).toBe("before\n");
  });

  test("the spec's cgroup mount shows the container's own cgroups, read-only", async () => {
    cids.add("cgview");
    const spec = h.spec(["sh", "-c", [
      "echo limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)",
      "echo pids=$(cat /sys/fs/cgroup/pids/pids.max)",
      "echo first=$(sort -n /sys/fs/cgroup/pids/cgroup.procs | head -1)",
      "echo 1 > /sys/fs/cgroup/pids/pids.max 2>/dev/null && echo write=ok || echo write=refused",
      "ls /sys/fs/cgroup | tr '\\n' ' '",
    ].join("; ")], { cid: "cgview" });
    spec.Linux!.Resources = { ...spec.Linux!.Resources, Memory: { Limit: 40 * MiB }, Pids: { Limit: 33 } };
    await h.create("cgview", spec);
    await rpc(h.c, "StartContainer", { container_id: "cgview" });
    const out = text(await readAll(h.c, "cgview", "", "ReadStdout"));
    expect(out).toContain(`limit=${40 * MiB}\n`);
    expect(out).toContain("pids=33\n");
    expect(out).toContain("first=1\n"); // its own cgroup: the init (pid 1) is in it
    expect(out).toContain("write=refused\n");
    for (const c of ["memory", "pids", "cpu", "cpuacct", "freezer", "devices"]) expect(out.split("\n").at(-1)!.split(" ")).toContain(c);
  });
});
