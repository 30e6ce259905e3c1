// PID 1's early mounts (src/init/early.ts) against a fake system: which filesystems are mounted,
// and that mountinfo is read once (again only right after mounting /proc when it was unreadable).
import { describe, expect, test } from "bun:test";
import { earlyInit, type EarlyMount, type EarlyOps } from "../../src/init/early.ts";
import type { Logger } from "../../src/log/logger.ts";

const ALL = ["/proc", "/sys", "/dev", "/dev/shm", "/dev/pts", "/run"];

/** A fake namespace: `table` is what mountinfo shows (nothing while /proc is not mounted). */
function fakeSystem(initial: string[], opts: { failing?: string } = {}) {
  const table = new Set(initial);
  const calls = { reads: 0, mounted: [] as string[], made: [] as string[] };
  const ops: EarlyOps = {
    mountPoints: () => {
      calls.reads++;
      return table.has("/proc") ? new Set(table) : new Set();
    },
    mkdir: (path) => void calls.made.push(path),
    mount: (m: EarlyMount) => {
      if (m.target === opts.failing) throw new Error(`mount ${m.fstype} on ${m.target}: EPERM`);
      // Like the kernel: a new mount hides what was mounted below it.
      for (const p of [...table]) if (p.startsWith(`${m.target}/`)) table.delete(p);
      table.add(m.target);
      calls.mounted.push(m.target);
    },
  };
  const errors: string[] = [];
  const log = { error: (msg: string, f: { target: string }) => void errors.push(`${msg}: ${f.target}`) } as unknown as Logger;
  return { ops, calls, errors, log, table };
}

describe("earlyInit", () => {
  test("an empty namespace (no /proc yet): everything is mounted, mountinfo read twice (before and after /proc)", () => {
    const s = fakeSystem([]);
    earlyInit(s.log, s.ops);
    expect(s.calls.mounted).toEqual(ALL);
    expect(s.calls.made).toEqual(ALL);
    expect(s.calls.reads).toBe(2);
    expect(s.errors).toEqual([]);
  });

  test("what a pre-init mounted is left alone, with one mountinfo read", () => {
    const s = fakeSystem(["/", "/proc", "/sys", "/dev", "/dev/pts"]);
    earlyInit(s.log, s.ops);
    expect(s.calls.mounted).toEqual(["/dev/shm", "/run"]);
    expect(s.calls.reads).toBe(1);
  });

  test("after /proc is mounted, what mountinfo then shows counts (a pre-init mounted /sys but not /proc)", () => {
    // The first read sees nothing (no /proc); the second, after mounting /proc, shows /sys.
    const s = fakeSystem(["/sys"]);
    earlyInit(s.log, s.ops);
    expect(s.calls.mounted).toEqual(["/proc", "/dev", "/dev/shm", "/dev/pts", "/run"]);
    expect(s.calls.reads).toBe(2);
  });

  test("mounting /dev hides a /dev/shm and /dev/pts seen before, so they are mounted again on the new /dev", () => {
    const s = fakeSystem(["/proc", "/dev/shm", "/dev/pts"]);
    earlyInit(s.log, s.ops);
    expect(s.calls.mounted).toEqual(["/sys", "/dev", "/dev/shm", "/dev/pts", "/run"]);
    expect(s.calls.reads).toBe(1);
  });

  test("a failed mount is logged naming its target, and the others still happen", () => {
    const s = fakeSystem(["/proc"], { failing: "/sys" });
    earlyInit(s.log, s.ops);
    expect(s.errors).toEqual(["early mount failed: /sys"]);
    expect(s.calls.mounted).toEqual(["/dev", "/dev/shm", "/dev/pts", "/run"]);
  });
});
