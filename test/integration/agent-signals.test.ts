// Issue 14 #10: SIGTERM, SIGHUP or SIGINT to a standalone agent shut it down the way
// DestroySandbox does: every container's processes killed, its cgroups removed, then exit 0.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { cgroupDirs, eventually, isRoot, rpc, startHarness } from "./containers-harness.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe.skipIf(!isRoot)("signals to a standalone agent", () => {
  for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
    test(`${signal}: containers removed, cgroups gone, exit 0`, async () => {
      const h = await startHarness();
      try {
        await h.create("sig", h.spec(["sleep", "1000"], { cid: "sig" }));
        await rpc(h.c, "StartContainer", { container_id: "sig" });
        const dirs = cgroupDirs(`${h.cgroupPrefix}/sig`);
        expect(dirs.length).toBeGreaterThan(0);
        const procs = readFileSync(`${dirs[0]}/cgroup.procs`, "utf8").split("\n").filter(Boolean).map(Number);
        expect(procs.length).toBeGreaterThan(0);
        h.agent.proc.kill(signal);
        const code = await h.agent.proc.exited;
        expect(code).toBe(0);
        for (const p of procs) await eventually(`container process ${p} gone`, () => !alive(p));
        for (const d of dirs) expect(existsSync(d)).toBe(false);
        expect(h.agent.logs()).toContain('"sandbox destroyed"');
      } finally {
        await h.stop();
      }
    });
  }
});
