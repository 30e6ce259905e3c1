// The parsed /etc/passwd and /etc/group cache (src/container/user.ts): a changed file is read again,
// whether it was rewritten in place (same inode), replaced (rename), removed, or changed within the
// same second as the read that would have cached it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RootView } from "../../src/container/rootfs-view.ts";
import { parsedFileCount, resolveUser } from "../../src/container/user.ts";

let rootfs: string;
const passwd = () => join(rootfs, "etc/passwd");
const line = (name: string, uid: number) => `${name}:x:${uid}:${uid}::/home/${name}:/bin/sh\n`;
/** Backdates a file (mtime; ctime is the kernel's and stays now) by `seconds`. */
const age = (path: string, seconds: number) => {
  const t = Date.now() / 1000 - seconds;
  utimesSync(path, t, t);
};
const uidOf = (name: string) => resolveUser(new RootView(rootfs), { Username: name }).uid;
const sleep = (ms: number) => Bun.sleep(ms);

beforeAll(() => {
  rootfs = mkdtempSync(join(tmpdir(), "user-file-cache-"));
  mkdirSync(join(rootfs, "etc"));
});
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

describe("parsed passwd cache", () => {
  test("a file changed in place with the same size is read again", async () => {
    writeFileSync(passwd(), line("alice", 1000));
    await sleep(1100); // older than the stability window: this read caches it
    const before = parsedFileCount();
    expect(uidOf("alice")).toBe(1000);
    expect(parsedFileCount()).toBe(before + 1);
    writeFileSync(passwd(), line("alice", 2000)); // same length, same inode, new ctime
    expect(uidOf("alice")).toBe(2000);
  });

  test("a file changed within a second of the read is not cached, so a later same-size edit shows", () => {
    writeFileSync(passwd(), line("carol", 3000));
    age(passwd(), 0); // mtime now: not stable yet
    expect(uidOf("carol")).toBe(3000);
    writeFileSync(passwd(), line("carol", 4000)); // possibly the same timestamp tick, same size
    expect(uidOf("carol")).toBe(4000);
  });

  test("a replaced file (rename over it) is read again", async () => {
    writeFileSync(passwd(), line("dave", 5000));
    await sleep(1100);
    expect(uidOf("dave")).toBe(5000);
    const tmp = join(rootfs, "etc/passwd.new");
    writeFileSync(tmp, line("dave", 6000));
    age(tmp, 10); // even with an old mtime: another inode
    renameSync(tmp, passwd());
    expect(uidOf("dave")).toBe(6000);
  });

  test("a removed file is not served from the cache", async () => {
    writeFileSync(passwd(), line("erin", 7000));
    await sleep(1100);
    expect(uidOf("erin")).toBe(7000);
    rmSync(passwd());
    expect(() => uidOf("erin")).toThrow(/no user "erin"/);
  });

  test("group changes are seen too", async () => {
    writeFileSync(passwd(), line("frank", 8000));
    const group = join(rootfs, "etc/group");
    writeFileSync(group, "wheel:x:10:frank\n");
    await sleep(1100);
    expect(resolveUser(new RootView(rootfs), { Username: "frank" }).additionalGids).toEqual([10]);
    writeFileSync(group, "wheel:x:11:frank\n");
    expect(resolveUser(new RootView(rootfs), { Username: "frank" }).additionalGids).toEqual([11]);
  });
});
