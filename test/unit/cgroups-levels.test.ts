import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CgroupError, makeLevels, removeLevels } from "../../src/cgroups/fsutil.ts";

// makeLevels/removeLevels only use mkdir/rmdir/readdir, so a plain directory stands in for a
// cgroup hierarchy here; the cgroup integration tests run them on real cgroupfs.
const base = mkdtempSync(join(tmpdir(), "cg-levels-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("makeLevels", () => {
  test("only the leaf is new when the parents exist", () => {
    const root = join(base, "a");
    mkdirSync(join(root, "pod"), { recursive: true });
    const levels = makeLevels(root, "pod/ctr");
    expect(levels.map((l) => [l.dir.slice(root.length), l.parent.slice(root.length), l.created])).toEqual([
      ["/pod", "", false],
      ["/pod/ctr", "/pod", true],
    ]);
  });

  test("missing parents are made top-down and reported as created", () => {
    const root = join(base, "b");
    mkdirSync(root);
    const levels = makeLevels(root, "x/y/z");
    expect(levels.map((l) => l.created)).toEqual([true, true, true]);
    expect(existsSync(join(root, "x/y/z"))).toBe(true);
  });

  test("an existing leaf is not created again", () => {
    const root = join(base, "c");
    mkdirSync(join(root, "p/q"), { recursive: true });
    expect(makeLevels(root, "p/q").map((l) => l.created)).toEqual([false, false]);
  });

  test("a missing hierarchy root is an error naming the directory", () => {
    const root = join(base, "absent");
    expect(() => makeLevels(root, "p/q")).toThrow(CgroupError);
    expect(() => makeLevels(root, "p/q")).toThrow(`mkdir ${join(root, "p")}: ENOENT`);
  });

  test("removeLevels removes the leaf, sub-directories and the parents made here, nothing else", async () => {
    const root = join(base, "d");
    mkdirSync(join(root, "kept"), { recursive: true });
    makeLevels(root, "kept/new/leaf");
    mkdirSync(join(root, "kept/new/leaf/sub/deeper"), { recursive: true });
    await removeLevels(root, join(root, "kept/new/leaf"), 1000);
    expect(existsSync(join(root, "kept/new"))).toBe(false);
    expect(existsSync(join(root, "kept"))).toBe(true);
  });
});
