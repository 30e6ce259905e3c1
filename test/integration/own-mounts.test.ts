// The agent's cached mount table (src/sys/own-mounts.ts): re-read when the kernel reports a mount
// or unmount (here made by another process, so only the poll can tell), kept otherwise, and
// re-read after the agent's own propagation changes, which the kernel does not report.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { forgetOwnMountTable, ownMountTable } from "../../src/sys/own-mounts.ts";
import { MNT_DETACH, MS, mount, umount } from "../../src/sys/mount.ts";
import { isRoot, missing } from "../helpers/require.ts";

const at = (dir: string) => ownMountTable().find((m) => m.mountPoint === dir);

describe.skipIf(missing({ root: isRoot }))("ownMountTable", () => {
  const dir = mkdtempSync(join(tmpdir(), "own-mounts-"));
  afterAll(() => {
    Bun.spawnSync(["umount", "-l", dir]);
    rmdirSync(dir);
    forgetOwnMountTable();
  });

  test("sees another process's mount and unmount, and is kept while nothing changes", () => {
    forgetOwnMountTable();
    expect(at(dir)).toBeUndefined();
    const first = ownMountTable();
    expect(ownMountTable()).toBe(first); // nothing changed: the same parsed table
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64k", "own-mounts-test", dir]).exitCode).toBe(0);
    const m = at(dir);
    expect(m?.fstype).toBe("tmpfs");
    expect(m?.source).toBe("own-mounts-test");
    expect(ownMountTable()).not.toBe(first);
    expect(Bun.spawnSync(["umount", dir]).exitCode).toBe(0);
    expect(at(dir)).toBeUndefined();
  });

  test("the agent's own propagation change is seen (the kernel's poll does not report it)", () => {
    mount("tmpfs", dir, "tmpfs", 0, "size=64k");
    try {
      mount("", dir, "", MS.PRIVATE);
      expect(at(dir)!.optional.some((f) => f.startsWith("shared:"))).toBe(false);
      mount("", dir, "", MS.SHARED);
      expect(at(dir)!.optional.some((f) => f.startsWith("shared:"))).toBe(true);
      mount("", dir, "", MS.PRIVATE);
      expect(at(dir)!.optional.some((f) => f.startsWith("shared:"))).toBe(false);
    } finally {
      umount(dir, MNT_DETACH);
    }
    expect(at(dir)).toBeUndefined();
  });
});
