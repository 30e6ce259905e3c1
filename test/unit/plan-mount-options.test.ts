import { describe, expect, test } from "bun:test";
import { MS, bindRemountFlags, flagNames, parseMountOptions, rootPropagationFlags } from "../../src/container/mount-options.ts";

describe("parseMountOptions", () => {
  const cases: [string[], number, number, string][] = [
    [[], 0, 0, ""],
    [["ro"], MS.RDONLY, 0, ""],
    [["ro", "rw"], 0, 0, ""],
    [["rw", "ro"], MS.RDONLY, 0, ""],
    [["nosuid", "nodev", "noexec"], MS.NOSUID | MS.NODEV | MS.NOEXEC, 0, ""],
    [["nosuid", "suid"], 0, 0, ""],
    [["relatime"], MS.RELATIME, 0, ""],
    [["strictatime"], MS.STRICTATIME, 0, ""],
    [["noatime", "nodiratime"], MS.NOATIME | MS.NODIRATIME, 0, ""],
    [["bind"], MS.BIND, 0, ""],
    [["rbind"], MS.BIND | MS.REC, 0, ""],
    [["sync", "dirsync", "mand"], MS.SYNCHRONOUS | MS.DIRSYNC | MS.MANDLOCK, 0, ""],
    [["remount"], MS.REMOUNT, 0, ""],
    [["defaults"], 0, 0, ""],
    [["private"], 0, MS.PRIVATE, ""],
    [["rprivate"], 0, MS.PRIVATE | MS.REC, ""],
    [["slave"], 0, MS.SLAVE, ""],
    [["rslave"], 0, MS.SLAVE | MS.REC, ""],
    [["shared"], 0, MS.SHARED, ""],
    [["rshared"], 0, MS.SHARED | MS.REC, ""],
    [["unbindable"], 0, MS.UNBINDABLE, ""],
    [["runbindable"], 0, MS.UNBINDABLE | MS.REC, ""],
    [["nosuid", "strictatime", "mode=755", "size=65536k"], MS.NOSUID | MS.STRICTATIME, 0, "mode=755,size=65536k"],
    [["rbind", "rprivate", "ro", "uid=5"], MS.BIND | MS.REC | MS.RDONLY, MS.PRIVATE | MS.REC, "uid=5"],
    [["newinstance", "ptmxmode=0666", "gid=5"], 0, 0, "newinstance,ptmxmode=0666,gid=5"],
    [["tmpcopyup", "mode=1777"], 0, 0, "mode=1777"],
  ];
  for (const [opts, flags, propagation, data] of cases) {
    test(JSON.stringify(opts), () => {
      const r = parseMountOptions(opts);
      expect(flagNames(r.flags)).toEqual(flagNames(flags));
      expect(r.flags).toBe(flags);
      expect(r.propagation).toBe(propagation);
      expect(r.data).toBe(data);
    });
  }
  test("null options", () => {
    expect(parseMountOptions(null)).toEqual({ flags: 0, propagation: 0, data: "" });
  });
});

describe("bindRemountFlags", () => {
  test("not a bind: no remount", () => {
    expect(bindRemountFlags(MS.RDONLY | MS.NOSUID)).toBe(0);
  });
  test("plain bind or rbind: no remount", () => {
    expect(bindRemountFlags(MS.BIND)).toBe(0);
    expect(bindRemountFlags(MS.BIND | MS.REC)).toBe(0);
  });
  test("readonly bind: remount with MS_REMOUNT|MS_BIND|MS_RDONLY", () => {
    const r = bindRemountFlags(MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID);
    expect(r & MS.REMOUNT).toBe(MS.REMOUNT);
    expect(r & MS.BIND).toBe(MS.BIND);
    expect(r & MS.RDONLY).toBe(MS.RDONLY);
    expect(r & MS.NOSUID).toBe(MS.NOSUID);
    expect(r & MS.REC).toBe(0);
  });
});

describe("rootPropagationFlags", () => {
  test("default is rslave like Kata and runc", () => {
    expect(rootPropagationFlags("")).toBe(MS.SLAVE | MS.REC);
    expect(rootPropagationFlags(undefined)).toBe(MS.SLAVE | MS.REC);
  });
  test("named modes are made recursive", () => {
    expect(rootPropagationFlags("private")).toBe(MS.PRIVATE | MS.REC);
    expect(rootPropagationFlags("rshared")).toBe(MS.SHARED | MS.REC);
  });
  test("unknown mode", () => {
    expect(rootPropagationFlags("sideways")).toBeUndefined();
  });
});
