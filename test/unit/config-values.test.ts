// Value rules shared by cmdline, TOML and environment: Go durations, bools, timeouts, ports,
// pipe sizes, server addresses.
import { describe, expect, test } from "bun:test";
import {
  parseBoolText,
  parseGoDuration,
  parsePipeSizeText,
  parseTimeoutText,
  parseVportText,
} from "../../src/config/values.ts";
import { parseServerAddr } from "../../src/config/server-addr.ts";
import { VMADDR_CID_ANY } from "../../src/sys/consts.ts";

describe("parseGoDuration (Go's time.ParseDuration grammar, in ms)", () => {
  const good: [string, number][] = [
    ["0", 0],
    ["10s", 10_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1h", 3_600_000],
    ["1.5h", 5_400_000],
    [".5s", 500],
    ["5.s", 5000],
    ["1500us", 1.5],
    ["1500\u00b5s", 1.5],
    ["1500\u03bcs", 1.5],
    ["2000000ns", 2],
    ["1h2m3s4ms", 3_723_004],
    ["+3s", 3000],
    ["-3s", -3000],
  ];
  test.each(good)("%p = %p ms", (text, ms) => {
    const r = parseGoDuration(text);
    expect(r).toEqual({ ok: true, value: ms });
  });

  const badInputs = ["", "s", "10", "1x", "1d", "ms", ".s", "1s2", "1 s", "-", "1S"];
  test.each(badInputs)("%p is rejected", (text) => {
    expect(parseGoDuration(text).ok).toBe(false);
  });

  test("an unknown unit is named", () => {
    const r = parseGoDuration("3d");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('"d"');
  });
});

describe("parseBoolText (Kata: true/false or a number, non-zero = true)", () => {
  const cases: [string, boolean | null][] = [
    ["true", true],
    ["false", false],
    ["TRUE", true],
    ["1", true],
    ["0", false],
    ["00", false],
    ["11", true],
    ["2", true],
    ["a", null],
    ["", null],
    ["-1", null],
    ["yes", null],
    [".", null],
  ];
  test.each(cases)("%p → %p", (text, want) => {
    const r = parseBoolText(text);
    if (want === null) expect(r.ok).toBe(false);
    else expect(r).toEqual({ ok: true, value: want });
  });
});

describe("parseTimeoutText (whole seconds or Go duration → ms, > 0, timer-safe)", () => {
  const cases: [string, number | string][] = [
    ["1", 1000],
    ["3", 3000],
    ["3600", 3_600_000],
    ["10s", 10_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["0", "greater than zero"],
    ["0s", "greater than zero"],
    ["-1", "Go duration"],
    ["-5s", "greater than zero"],
    ["foo", "whole number of seconds"],
    ["4jbsdja", "whole number of seconds"],
    ["", "whole number of seconds"],
    ["2147484", "too long"],
    ["600h", "too long"],
  ];
  test.each(cases)("%p → %p", (text, want) => {
    const r = parseTimeoutText(text);
    if (typeof want === "number") expect(r).toEqual({ ok: true, value: want });
    else {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain(want);
    }
  });
});

describe("ports and pipe sizes", () => {
  const vports: [string, number | null][] = [
    ["0", 0],
    ["1025", 1025],
    ["2147483647", 2147483647],
    ["2147483648", null],
    ["-1", null],
    ["0x10", null],
    ["1e3", null],
    ["abc", null],
    ["", null],
  ];
  test.each(vports)("vport %p → %p", (text, want) => {
    const r = parseVportText(text);
    if (want === null) expect(r.ok).toBe(false);
    else expect(r).toEqual({ ok: true, value: want });
  });

  const pipes: [string, number | string][] = [
    ["0", 0],
    ["100", 100],
    ["2097152", 2097152],
    ["-1", "negative"],
    ["foobar", "number of bytes"],
    ["4jbsdja", "number of bytes"],
    ["4294967296", "too large"],
  ];
  test.each(pipes)("pipe size %p → %p", (text, want) => {
    const r = parsePipeSizeText(text);
    if (typeof want === "number") expect(r).toEqual({ ok: true, value: want });
    else {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain(want);
    }
  });
});

describe("parseServerAddr", () => {
  test.each([
    ["vsock://-1:1024", { kind: "vsock", cid: VMADDR_CID_ANY, port: 1024 }],
    ["vsock://3:2048", { kind: "vsock", cid: 3, port: 2048 }],
    ["vsock://8:0", { kind: "vsock", cid: 8, port: 0 }],
    ["unix:///tmp/foo.socket", { kind: "unix", path: "/tmp/foo.socket" }],
    ["unix://@/tmp/foo.socket", { kind: "abstract", name: "/tmp/foo.socket" }],
    ["unix://@kata", { kind: "abstract", name: "kata" }],
  ] as const)("%p parses", (text, addr) => {
    expect(parseServerAddr(text)).toEqual({ ok: true, addr });
  });

  test.each([
    ["", "expected scheme://"],
    ["foo", "expected scheme://"],
    ["=", "expected scheme://"],
    ["tcp://1.2.3.4:5", "does not listen on tcp"],
    ["ftp://x", 'unknown scheme "ftp"'],
    ["vsock://-1", "CID:PORT"],
    ["vsock://x:1", "is not a number"],
    ["vsock://-2:1", "CID must be -1"],
    ["vsock://4294967296:1", "CID must be -1"],
    ["vsock://3:4294967296", "port must be"],
    ["unix://", "absolute path"],
    ["unix://@", "empty abstract socket name"],
    ["unix://rel.sock", "absolute path"],
    [`unix:///${"x".repeat(107)}`, "longer than 107"],
  ])("%p is rejected (%s)", (text, why) => {
    const r = parseServerAddr(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(why);
  });
});
