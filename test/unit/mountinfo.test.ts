import { expect, test } from "bun:test";
import { parseMountinfo } from "../../src/sys/mountinfo.ts";

test("mountinfo: fields, octal escapes, optional fields before the separator, super options", () => {
  const text = [
    "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw",
    "35 24 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:14 master:2 - cgroup cgroup rw,memory",
    "40 22 0:40 /sub /mnt/with\\040space rw - tmpfs my\\011src rw,size=64k",
    "garbage line",
  ].join("\n");
  expect(parseMountinfo(text)).toEqual([
    { fsRoot: "/", mountPoint: "/proc", fstype: "proc", source: "proc", superOptions: ["rw"] },
    { fsRoot: "/", mountPoint: "/sys/fs/cgroup/memory", fstype: "cgroup", source: "cgroup", superOptions: ["rw", "memory"] },
    { fsRoot: "/sub", mountPoint: "/mnt/with space", fstype: "tmpfs", source: "my\tsrc", superOptions: ["rw", "size=64k"] },
  ]);
});
