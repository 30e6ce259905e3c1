// The reaper with real children (created by the launcher, never by Bun.spawn): exits delivered
// before and after onExit, signals, coalesced SIGCHLDs, orphans adopted as subreaper. Root only
// (the launcher's setgroups needs CAP_SETGID).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { spawn } from "../../src/sys/launcher.ts";
import type { LaunchPlan } from "../../src/sys/launch-plan.ts";
import { decodeStatus, exitCode, installReaper, onExit, reapNow, stopReaper } from "../../src/sys/reaper.ts";
import { closeFd, pipe, setNonBlocking } from "../../src/sys/pipe.ts";
import { C } from "../../src/sys/libc.ts";
import { Level, log } from "../../src/log/logger.ts";
import { missing } from "../helpers/require.ts";

const isRoot = process.getuid?.() === 0;

function sh(script: string, stdio: [number, number, number] = [-1, -1, -1]): number {
  const plan: LaunchPlan = {
    namespaces: [], rootReadonly: false, rootPropagation: 0, mounts: [], devices: [], symlinks: [],
    maskedPaths: [], readonlyPaths: [], sysctls: [], rlimits: [], uid: 0, gid: 0, additionalGids: [],
    caps: null, noNewPrivileges: false, terminal: false, cwd: "/", exe: "/bin/busybox", args: ["sh", "-c", script],
    env: ["PATH=/bin:/usr/bin"], stdio, cgroupProcsFds: [],
  };
  return spawn(plan);
}

describe("exit status decoding", () => {
  test("exit code, signal, 128+signal", () => {
    expect(decodeStatus(7 << 8)).toEqual({ code: 7, status: 7 << 8 });
    expect(decodeStatus(9)).toEqual({ signal: 9, status: 9 });
    expect(decodeStatus(0x80 | 11)).toEqual({ signal: 11, status: 0x80 | 11 }); // core dumped
    expect(exitCode(decodeStatus(9))).toBe(137);
    expect(exitCode(decodeStatus(0))).toBe(0);
  });
});

describe.skipIf(missing({ root: isRoot }))("reaper (root)", () => {
  beforeAll(() => installReaper());
  afterAll(() => stopReaper());

  test("an exit reaped before onExit was called is still delivered", async () => {
    const pid = sh("exit 5");
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await Bun.sleep(10); // reaped on SIGCHLD
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(await onExit(pid)).toEqual({ code: 5, status: 5 << 8 });
  });

  test("a killed process reports the signal", async () => {
    const pid = sh("sleep 100");
    const exited = onExit(pid);
    C.kill(pid, 9);
    const st = await exited;
    expect(st.signal).toBe(9);
    expect(exitCode(st)).toBe(137);
  });

  test("many simultaneous exits (coalesced SIGCHLDs) are all delivered", async () => {
    const pids = Array.from({ length: 40 }, (_, i) => sh(`exit ${i}`));
    const codes = await Promise.all(pids.map((p) => onExit(p).then(exitCode)));
    expect(codes).toEqual(pids.map((_, i) => i));
  });

  test("orphans are adopted (subreaper), reaped and logged at debug", async () => {
    const lines: string[] = [];
    const oldLevel = log.level;
    log.setLevel(Level.Debug);
    log.setSink((l) => lines.push(l));
    try {
      const [r, w] = pipe();
      const parent = sh("sleep 0.2 >/dev/null 2>&1 & echo $!", [-1, w, -1]);
      closeFd(w);
      setNonBlocking(r);
      const orphan = Number((await new Response(Bun.file(r).stream()).text()).trim());
      closeFd(r);
      expect(exitCode(await onExit(parent))).toBe(0);
      expect(orphan).toBeGreaterThan(0);
      // Reparented to us, not to the host's init.
      const ppid = readFileSync(`/proc/${orphan}/stat`, "utf8").split(") ")[1]!.split(" ")[1];
      expect(Number(ppid)).toBe(process.pid);
      for (let i = 0; i < 200 && existsSync(`/proc/${orphan}`); i++) await Bun.sleep(10);
      expect(existsSync(`/proc/${orphan}`)).toBe(false); // reaped, not a zombie
      const entry = lines.map((l) => JSON.parse(l)).find((j) => j.msg === "reaped orphan" && j.orphan_pid === orphan);
      expect(entry).toMatchObject({ level: "DEBG", exit_code: 0 });
    } finally {
      log.setSink((l) => process.stdout.write(l));
      log.setLevel(oldLevel);
    }
  });

  test("reapNow finds nothing when every child is reaped", () => {
    expect(reapNow()).toBe(0);
  });
});
