// 200 create/start/reap cycles of a realistic container (new pid/mnt/uts/ipc ns, proc mount):
// no descriptor growth in the agent, no processes or mounts left behind. Skipped when not root.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { abortInit, createInit, spawn, startInit } from "../../src/sys/launcher.ts";
import type { LaunchPlan } from "../../src/sys/launch-plan.ts";
import { exitCode, installReaper, onExit, stopReaper } from "../../src/sys/reaper.ts";
import { makeBusyboxRootfs } from "../fixtures/busybox.ts";
import { missing } from "../helpers/require.ts";

const isRoot = process.getuid?.() === 0;
const CYCLES = 200;
let work = "";
let rootfs = "";

function plan(args: string[]): LaunchPlan {
  return {
    namespaces: [{ kind: "pid" }, { kind: "mount" }, { kind: "uts" }, { kind: "ipc" }],
    rootfs, rootReadonly: false, rootPropagation: 0,
    mounts: [{ source: "proc", target: "/proc", fstype: "proc", flags: 2 | 4 | 8, data: "", propagation: 0, remountFlags: 0, targetIsFile: false }],
    devices: [], symlinks: [], maskedPaths: [], readonlyPaths: ["/proc/sys"], sysctls: [], rlimits: [],
    hostname: "stress", uid: 0, gid: 0, additionalGids: [], caps: null, noNewPrivileges: false, terminal: false,
    cwd: "/", exe: `/bin/${args[0]}`, args, env: ["PATH=/bin"], stdio: [-1, -1, -1], cgroupProcsFds: [],
  };
}

/** Open descriptors and what they are (the listing's own directory fd is left out). */
function fdList(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      out.push(`${fd} ${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {}
  }
  return out.filter((l) => !l.endsWith(" /proc/" + process.pid + "/fd") && !l.includes("/proc/self/fd"));
}
const mountCount = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").length;
function childCount(): number {
  let n = 0;
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] === String(process.pid)) n++;
    } catch {}
  }
  return n;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.skipIf(missing({ root: isRoot }))("launcher stress (root)", () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kl-stress-"));
    rootfs = await makeBusyboxRootfs(join(work, "rootfs"));
    installReaper();
  });
  afterAll(() => {
    stopReaper();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test(`${CYCLES} create/start/reap cycles leak no descriptors, processes or mounts`, async () => {
    // Warm up: the first call loads the .so and the gate memfd (which stays open by design), and
    // Bun creates some event-loop descriptors lazily on first use of streams and timers.
    for (let i = 0; i < 20; i++) {
      const warm = createInit(plan(["true"]));
      await startInit(warm);
      await onExit(warm.pid);
    }
    const fds = fdList();
    const mounts = mountCount();
    const children = childCount();
    const createMs: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      const t0 = performance.now();
      const c = createInit(plan(i % 2 ? ["true"] : ["sh", "-c", "exit 3"]));
      createMs.push(performance.now() - t0);
      if (i % 10 === 9) {
        abortInit(c); // some are removed unstarted
        expect((await onExit(c.pid)).signal).toBe(9);
        continue;
      }
      await startInit(c);
      expect(exitCode(await onExit(c.pid))).toBe(i % 2 ? 0 : 3);
    }
    const spawnMs: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      const pid = spawn({ ...plan(["true"]), namespaces: [], rootfs: undefined, mounts: [], readonlyPaths: [], hostname: undefined });
      spawnMs.push(performance.now() - t0);
      expect(exitCode(await onExit(pid))).toBe(0);
    }
    expect(fdList()).toEqual(fds);
    expect(mountCount()).toBe(mounts);
    expect(childCount()).toBe(children);
    console.log(`create median ${median(createMs).toFixed(2)} ms, spawn median ${median(spawnMs).toFixed(2)} ms`);
  });
});
