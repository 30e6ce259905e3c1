import { describe, expect, test } from "bun:test";
import { CAP_NAMES, allCapsMask, capBit, capName, capNames, capSets, capsToMask, kernelLastCap } from "../../src/container/caps.ts";
import { planRlimits, rlimitNumber } from "../../src/container/rlimits.ts";
import { SpecError } from "../../src/container/spec-error.ts";

describe("capabilities", () => {
  test("41 names, numbered like linux/capability.h", () => {
    expect(CAP_NAMES.length).toBe(41);
    const known: [string, number][] = [
      ["CAP_CHOWN", 0], ["CAP_KILL", 5], ["CAP_SETUID", 7], ["CAP_NET_BIND_SERVICE", 10], ["CAP_NET_ADMIN", 12],
      ["CAP_SYS_ADMIN", 21], ["CAP_MKNOD", 27], ["CAP_AUDIT_WRITE", 29], ["CAP_AUDIT_CONTROL", 30],
      ["CAP_MAC_ADMIN", 33], ["CAP_AUDIT_READ", 37], ["CAP_PERFMON", 38], ["CAP_BPF", 39], ["CAP_CHECKPOINT_RESTORE", 40],
    ];
    for (const [name, bit] of known) {
      expect(capBit(name)).toBe(bit);
      expect(capName(bit)).toBe(name as never);
    }
  });
  test("names round-trip through bits", () => {
    for (let i = 0; i < CAP_NAMES.length; i++) expect(capBit(capName(i)!)).toBe(i);
  });
  test("the CAP_ prefix is required", () => {
    expect(capBit("KILL")).toBeUndefined();
    expect(capBit("cap_kill")).toBeUndefined();
  });
  test("mask of a list", () => {
    const m = capsToMask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], "x");
    expect(m).toBe((1n << 29n) | (1n << 5n) | (1n << 10n));
    expect(capNames(m)).toEqual(["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]);
  });
  test("unknown name names the list entry", () => {
    expect(() => capsToMask(["CAP_KILL", "CAP_FLY"], "Process.Capabilities.Bounding")).toThrow(
      'Process.Capabilities.Bounding[1] "CAP_FLY" is not a known capability',
    );
  });
  test("caps unknown to the kernel are dropped from every set", () => {
    const sets = capSets({ Bounding: ["CAP_KILL", "CAP_BPF"], Effective: ["CAP_BPF"], Ambient: ["CAP_KILL"] }, "P", 37);
    expect(sets.bounding).toBe(1n << 5n);
    expect(sets.effective).toBe(0n);
    expect(sets.ambient).toBe(1n << 5n);
    expect(sets.permitted).toBe(0n);
  });
  test("allCapsMask follows the running kernel", () => {
    const last = kernelLastCap();
    expect(last).toBeGreaterThanOrEqual(36);
    expect(allCapsMask()).toBe((1n << BigInt(last + 1)) - 1n);
  });
});

describe("rlimits", () => {
  const table: [string, number][] = [
    ["RLIMIT_CPU", 0], ["RLIMIT_FSIZE", 1], ["RLIMIT_DATA", 2], ["RLIMIT_STACK", 3], ["RLIMIT_CORE", 4],
    ["RLIMIT_RSS", 5], ["RLIMIT_NPROC", 6], ["RLIMIT_NOFILE", 7], ["RLIMIT_MEMLOCK", 8], ["RLIMIT_AS", 9],
    ["RLIMIT_LOCKS", 10], ["RLIMIT_SIGPENDING", 11], ["RLIMIT_MSGQUEUE", 12], ["RLIMIT_NICE", 13],
    ["RLIMIT_RTPRIO", 14], ["RLIMIT_RTTIME", 15],
  ];
  for (const [name, n] of table) test(name, () => expect(rlimitNumber(name)).toBe(n));
  test("unknown names", () => {
    expect(rlimitNumber("RLIMIT_FOO")).toBeUndefined();
    expect(rlimitNumber("NOFILE")).toBeUndefined();
    expect(rlimitNumber("toString")).toBeUndefined();
  });
  test("plan values are bigints; RLIM_INFINITY survives number rounding", () => {
    const r = planRlimits([
      { Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096 },
      { Type: "RLIMIT_CORE", Soft: 18446744073709551615, Hard: "18446744073709551615" },
      { Type: "RLIMIT_NPROC", Soft: 10n, Hard: { toString: () => "20" } },
    ]);
    expect(r).toEqual([
      { resource: 7, soft: 1024n, hard: 4096n },
      { resource: 4, soft: 0xffffffffffffffffn, hard: 0xffffffffffffffffn },
      { resource: 6, soft: 10n, hard: 20n },
    ]);
  });
  test("unknown type is a SpecError naming the entry", () => {
    try {
      planRlimits([{ Type: "RLIMIT_NOFILE" }, { Type: "RLIMIT_BOGUS" }]);
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect((e as SpecError).field).toBe("Process.Rlimits[1].Type");
    }
  });
});
