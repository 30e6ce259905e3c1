import { expect, test } from "bun:test";
import { mountContaining, parseMountinfo } from "../../src/sys/mountinfo.ts";

test("mountinfo: fields, octal escapes, optional fields before the separator, super options", () => {
  const text = [
    "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw",
    "35 24 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:14 master:2 - cgroup cgroup rw,memory",
    "40 22 0:40 /sub /mnt/with\\040space rw - tmpfs my\\011src rw,size=64k",
    "garbage line",
  ].join("\n");
  expect(parseMountinfo(text)).toEqual([
    { fsRoot: "/", mountPoint: "/proc", fstype: "proc", source: "proc", superOptions: ["rw"], optional: ["shared:5"] },
    { fsRoot: "/", mountPoint: "/sys/fs/cgroup/memory", fstype: "cgroup", source: "cgroup", superOptions: ["rw", "memory"], optional: ["shared:14", "master:2"] },
    { fsRoot: "/sub", mountPoint: "/mnt/with space", fstype: "tmpfs", source: "my\tsrc", superOptions: ["rw", "size=64k"], optional: [] },
  ]);
});

test("mountContaining: the longest mount point at or above the path, on component boundaries", () => {
  const m = parseMountinfo([
    "1 0 0:1 / / rw shared:1 - ext4 /dev/sda rw",
    "2 1 0:2 / /run rw - tmpfs tmpfs rw",
    "3 2 0:3 / /run/kata rw shared:7 - tmpfs tmpfs rw",
  ].join("\n"));
  expect(mountContaining(m, "/run/kata/c1/rootfs")?.mountPoint).toBe("/run/kata");
  expect(mountContaining(m, "/run/katalyst/x")?.mountPoint).toBe("/run");
  expect(mountContaining(m, "/srv")?.mountPoint).toBe("/");
  expect(mountContaining(m, "/run")?.mountPoint).toBe("/run");
});
