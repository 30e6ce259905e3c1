// Storage pure logic: option parsing (Kata's parse_mount_options / parse_options), guest path
// checks, the refcounted table with drivers that only record calls, the config.json keys, guest
// hooks and DNS text, and the words naming the storage a missing path should come from.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StorageDriver, StorageSpec } from "../../src/storage/driver.ts";
import { driverFor, driverNames } from "../../src/storage/drivers.ts";
import { keyValueOptions, MAX_MOUNT_DATA, parseGid, parseMode, parseStorageOptions } from "../../src/storage/options.ts";
import { checkGuestPath } from "../../src/storage/paths.ts";
import { StorageTable } from "../../src/storage/table.ts";
import { hugepageRequest } from "../../src/storage/ephemeral.ts";
import { jsonKey, specToOciJson } from "../../src/storage/config-json.ts";
import { mergeGuestHooks, scanGuestHooks } from "../../src/storage/guest-hooks.ts";
import { resolvConfText } from "../../src/storage/dns.ts";
import { expectedProvider } from "../../src/storage/spec-sources.ts";
import { MS } from "../../src/sys/mount.ts";

const spec = (mountPoint: string, o: Partial<StorageSpec> = {}): StorageSpec => ({
  driver: "fake", driverOptions: [], source: "src", fstype: "tmpfs", options: [], mountPoint, shared: false, ...o,
});

function fakeDrivers(log: string[], failOn?: string): (name: string, field: string) => StorageDriver {
  const d: StorageDriver = {
    names: ["fake"],
    add: async (s) => {
      await Bun.sleep(1);
      if (s.mountPoint === failOn) throw new Error(`mount ${s.mountPoint} failed`);
      log.push(`add ${s.mountPoint}`);
      return { mountPoint: s.mountPoint, release: () => void log.push(`release ${s.mountPoint}`) };
    },
  };
  return (name, field) => (name === "fake" ? d : driverFor(name, field));
}

describe("storage options", () => {
  test("flags, propagation and data as Kata's parse_mount_options", () => {
    const r = parseStorageOptions("s", ["noexec", "nosuid", "nodev", "mode=1777", "size=67108864", "rprivate"]);
    expect(r.flags).toBe(MS.NOEXEC | MS.NOSUID | MS.NODEV);
    expect(r.data).toBe("mode=1777,size=67108864");
    expect(r.propagation).toBe(MS.PRIVATE | MS.REC);
    // the 9p options arrive as one comma list
    expect(parseStorageOptions("s", ["trans=virtio,version=9p2000.L,cache=mmap", "nodev"]).data).toBe("trans=virtio,version=9p2000.L,cache=mmap");
  });
  test("loop and oversized data are refused naming the storage", () => {
    expect(() => parseStorageOptions("storage /run/kata-containers/x", ["loop"])).toThrow(/storage \/run\/kata-containers\/x: mount option "loop"/);
    expect(() => parseStorageOptions("s", ["x".repeat(MAX_MOUNT_DATA + 1)])).toThrow(/more than 4096/);
  });
  test("key=value options, gids and modes", () => {
    expect([...keyValueOptions(["mode=0777", "fsgid=3000", "ro", "a=b=c"])]).toEqual([["mode", "0777"], ["fsgid", "3000"]]);
    expect(parseGid("f", "3000")).toBe(3000);
    expect(() => parseGid("fsgid", "-1")).toThrow(/fsgid: "-1" is not a group id/);
    expect(() => parseGid("fsgid", "4294967296")).toThrow(/not a group id/);
    expect(parseMode("m", "0777")).toBe(0o777);
    expect(() => parseMode("mode", "999")).toThrow(/not an octal mode/);
  });
  test("hugetlbfs pagesize= and size=", () => {
    expect(hugepageRequest(spec("/m", { options: ["pagesize=2097152", "size=8388608"] }))).toEqual({ pageSize: 2097152, pages: 4 });
    expect(hugepageRequest(spec("/m", { options: ["pagesize=2097152,size=4194304"] }))).toEqual({ pageSize: 2097152, pages: 2 });
    expect(() => hugepageRequest(spec("/m", { options: ["size=1"] }))).toThrow(/needs both pagesize= and size=/);
  });
});

describe("guest paths", () => {
  test("absolute, no '..', below /run/kata-containers", () => {
    expect(checkGuestPath("f", "/run/kata-containers/shared/containers/")).toBe("/run/kata-containers/shared/containers");
    expect(() => checkGuestPath("storages[0].mount_point", "/etc/x")).toThrow(/storages\[0\].mount_point "\/etc\/x" is outside \/run\/kata-containers\//);
    expect(() => checkGuestPath("f", "/run/kata-containers/a/../../../etc")).toThrow(/contains ".."/);
    expect(() => checkGuestPath("f", "run/kata-containers/a")).toThrow(/not an absolute path/);
    expect(() => checkGuestPath("f", "")).toThrow(/f is empty/);
    expect(() => checkGuestPath("f", "/run/kata-containers-evil/a")).toThrow(/outside/);
  });
  test("a symlink on the way that leaves the root is refused", () => {
    const root = mkdtempSync(join(tmpdir(), "storage-root-"));
    try {
      mkdirSync(join(root, "in"));
      symlinkSync("/etc", join(root, "escape"));
      symlinkSync(join(root, "in"), join(root, "inside"));
      expect(checkGuestPath("f", `${root}/inside/new/dir`, root)).toBe(`${root}/inside/new/dir`);
      expect(() => checkGuestPath("f", `${root}/escape/new`, root)).toThrow(/leads outside .* through a symlink \(to \/etc\)/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("storage table", () => {
  const A = "/run/kata-containers/sandbox/a", B = "/run/kata-containers/sandbox/b";
  test("the first user mounts, later users only count, the last release undoes it", async () => {
    const log: string[] = [];
    const t = new StorageTable(fakeDrivers(log));
    expect(await t.add([spec(A)], { sandboxId: "s", hotplugTimeoutMs: 0 }, "storages")).toEqual([A]);
    await t.add([spec(A), spec(B)], { sandboxId: "s", hotplugTimeoutMs: 0 }, "storages");
    expect(t.get(A)?.refs).toBe(2);
    await t.release([A]);
    expect(log).toEqual([`add ${A}`, `add ${B}`]);
    await t.release([A, B]);
    expect(log).toEqual([`add ${A}`, `add ${B}`, `release ${A}`, `release ${B}`]);
    expect(t.list()).toEqual([]);
  });
  test("concurrent adds of one mount point mount it once", async () => {
    const log: string[] = [];
    const t = new StorageTable(fakeDrivers(log));
    await Promise.all([t.add([spec(A)], { sandboxId: "s", hotplugTimeoutMs: 0 }, "s"), t.add([spec(A)], { sandboxId: "s", hotplugTimeoutMs: 0 }, "s")]);
    expect(log).toEqual([`add ${A}`]);
    expect(t.get(A)?.refs).toBe(2);
  });
  test("shared storages stay until releaseAll", async () => {
    const log: string[] = [];
    const t = new StorageTable(fakeDrivers(log));
    await t.add([spec(A, { shared: true })], { sandboxId: "s", hotplugTimeoutMs: 0 }, "s");
    await t.release([A]);
    expect(t.get(A)?.refs).toBe(1);
    await t.releaseAll();
    expect(log).toEqual([`add ${A}`, `release ${A}`]);
  });
  test("a failed request releases what it took and leaves the rest", async () => {
    const log: string[] = [];
    const t = new StorageTable(fakeDrivers(log, B));
    await t.add([spec(A)], { sandboxId: "s", hotplugTimeoutMs: 0 }, "s");
    const C = "/run/kata-containers/sandbox/c";
    await expect(t.add([spec(C), spec(A), spec(B)], { sandboxId: "s", hotplugTimeoutMs: 0 }, "s")).rejects.toThrow(/mount .*\/b failed/);
    expect(log).toEqual([`add ${A}`, `add ${C}`, `release ${C}`]);
    expect(t.get(A)?.refs).toBe(1);
    expect(t.get(B)).toBeUndefined();
  });
  test("every storage is checked before anything is mounted", async () => {
    const log: string[] = [];
    const t = new StorageTable(fakeDrivers(log));
    const ctx = { sandboxId: "s", hotplugTimeoutMs: 0 };
    await expect(t.add([spec(A), spec("/tmp/x")], ctx, "storages")).rejects.toThrow(/storages\[1\].mount_point "\/tmp\/x" is outside/);
    await expect(t.add([spec(A), spec(B, { driver: "blk-ccw" })], ctx, "storages")).rejects.toThrow(/storages\[1\].driver: storage driver "blk-ccw" is not available/);
    await expect(t.add([spec(A), spec(B, { driver: "nfs" })], ctx, "storages")).rejects.toThrow(/unknown storage driver "nfs"/);
    await expect(t.add([spec(A), spec(`${A}/`)], ctx, "storages")).rejects.toThrow(/appears twice/);
    expect(log).toEqual([]);
  });
  test("retain keeps a storage for a container whose spec uses it", async () => {
    const log: string[] = [];
    const t = new StorageTable(fakeDrivers(log));
    await t.add([spec(A)], { sandboxId: "s", hotplugTimeoutMs: 0 }, "s");
    t.retain([A]);
    await t.release([A]);
    expect(log).toEqual([`add ${A}`]);
    expect(t.holderOf(`${A}/file`)?.mountPoint).toBe(A);
  });
});

describe("driver table", () => {
  test("Kata's names, block drivers included; drivers this agent lacks are refused by name", () => {
    expect(driverNames()).toEqual(expect.arrayContaining(["virtio-fs", "9p", "overlayfs", "bind", "ephemeral", "local", "watchable-bind", "blk", "mmioblk", "scsi", "nvdimm"]));
    expect(() => driverFor("blk-ccw", "storages[0].driver")).toThrow(/storages\[0\].driver: storage driver "blk-ccw" is not available: CCW block devices exist only on s390x/);
    expect(() => driverFor("nfs", "storages[0].driver")).toThrow(/unknown storage driver "nfs"/);
  });
});

describe("bundle, hooks, dns, messages", () => {
  test("config.json keys", () => {
    expect(jsonKey("Version")).toBe("ociVersion");
    expect(jsonKey("OOMScoreAdj")).toBe("oomScoreAdj");
    expect(jsonKey("UID")).toBe("uid");
    expect(jsonKey("CgroupsPath")).toBe("cgroupsPath");
    const j = specToOciJson({ Version: "1.1.0", Process: { Args: ["sh"], User: { UID: 1, GID: 2 } }, Annotations: { "A.B": "c" }, Root: { Path: "/r" } });
    expect(j).toEqual({ ociVersion: "1.1.0", process: { args: ["sh"], user: { uid: 1, gid: 2 } }, annotations: { "A.B": "c" }, root: { path: "/r" } });
  });
  test("guest hooks: executable regular files of prestart/poststart/poststop, merged after the spec's", () => {
    const d = mkdtempSync(join(tmpdir(), "guest-hooks-"));
    try {
      mkdirSync(join(d, "prestart"));
      mkdirSync(join(d, "poststop"));
      writeFileSync(join(d, "prestart", "b.sh"), "#!/bin/sh\n");
      chmodSync(join(d, "prestart", "b.sh"), 0o755);
      writeFileSync(join(d, "prestart", "not-exec"), "");
      symlinkSync("/bin/true", join(d, "poststop", "link"));
      const g = scanGuestHooks(d);
      expect(g).toEqual({ prestart: [{ path: join(d, "prestart", "b.sh"), args: ["b.sh", "prestart"], env: [] }], poststart: [], poststop: [] });
      const merged = mergeGuestHooks({ Hooks: { Prestart: [{ Path: "/own" }] } }, g);
      expect((merged.Hooks!.Prestart as { Path: string }[]).map((h) => h.Path)).toEqual(["/own", join(d, "prestart", "b.sh")]);
      expect(() => scanGuestHooks("relative")).toThrow(/guest_hook_path "relative" is not an absolute path/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
  test("dns lines trimmed and joined as Kata writes them", () => {
    expect(resolvConfText([" nameserver 10.0.0.1 ", "search a.b"])).toBe("nameserver 10.0.0.1\nsearch a.b");
  });
  test("a missing path names the storage that should provide it", () => {
    const t = new StorageTable();
    expect(expectedProvider("/run/kata-containers/shared/containers/x/rootfs", t)).toMatch(/shared filesystem storage \(driver virtio-fs, source kataShared\)/);
    expect(expectedProvider("/run/kata-containers/sandbox/shm", t)).toMatch(/sandbox's shm storage \(driver ephemeral\)/);
    expect(expectedProvider("/run/kata-containers/shared/containers/watchable/v", t)).toMatch(/watchable-bind storage with mount_point/);
  });
});
