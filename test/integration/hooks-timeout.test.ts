// Issue 14 #9: a hook without a timeout gets Kata's default (10 s) instead of waiting forever, and
// on timeout its whole process group dies (a background child of the hook included).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_HOOK_TIMEOUT_S, runHook } from "../../src/container/hooks.ts";
import { installReaper, stopReaper } from "../../src/sys/reaper.ts";

const dir = mkdtempSync(join(tmpdir(), "hook-timeout-"));
beforeAll(() => installReaper());
afterAll(() => {
  stopReaper();
  rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

test("Kata's default hook timeout is 10 s", () => {
  expect(DEFAULT_HOOK_TIMEOUT_S).toBe(10);
});

test("a hook without a timeout is stopped at the default, with its background children", async () => {
  const pidFile = join(dir, "bg.pid");
  const hook = { path: "/bin/sh", args: ["sh", "-c", `sleep 1000 & echo $! > ${pidFile}; exec sleep 1000`], env: [] };
  const state = { ociVersion: "1.0.2", id: "c1", status: "creating" as const, bundle: dir };
  const t0 = performance.now();
  const err = await runHook("createRuntime", 0, hook, state, 1).then(() => undefined, (e: Error) => e);
  const ms = performance.now() - t0;
  expect(err?.message).toContain("createRuntime hook #0 (/bin/sh) timed out after 1 s");
  expect(ms).toBeLessThan(5000);
  expect(existsSync(pidFile)).toBe(true);
  const bg = Number(readFileSync(pidFile, "utf8"));
  const deadline = Date.now() + 2000;
  while (alive(bg) && Date.now() < deadline) await Bun.sleep(20);
  expect(alive(bg)).toBe(false);
});
