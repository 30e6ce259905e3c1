// Issue 14 #7: a spec with thousands of mounts must not stall the agent (lookups indexed by
// destination, linear planning) and counts beyond the caps are refused before any work.
import { describe, expect, test } from "bun:test";
import { kindOf } from "../../src/errors.ts";
import { minimalSpec } from "../../src/ctl/oci-json.ts";
import type { ISpec } from "../../src/container/oci-types.ts";
import { RootView } from "../../src/container/rootfs-view.ts";
import { MAX_ARG_STRLEN, SPEC_LIMITS } from "../../src/container/spec-limits.ts";
import { validateProcess, validateSpec } from "../../src/container/spec-validate.ts";
import { statusFor } from "../../src/services/errors.ts";
import { Code } from "../../src/ttrpc/status.ts";

const good = (): ISpec => minimalSpec({ rootfs: "/run/kata-containers/c1/rootfs", args: ["sh"] });

function failure(f: () => void): { kind: string; message: string } {
  try {
    f();
  } catch (e) {
    return { kind: kindOf(e), message: (e as Error).message };
  }
  return { kind: "none", message: "" };
}

describe("counts over the caps → RESOURCE_EXHAUSTED naming the field", () => {
  const cases: Array<[string, (s: ISpec, n: number) => void, number]> = [
    ["Spec.Mounts", (s, n) => (s.Mounts = Array.from({ length: n }, (_, i) => ({ destination: `/m${i}`, type: "tmpfs", source: "tmpfs" }))), SPEC_LIMITS.mounts],
    ["Spec.Linux.Devices", (s, n) => (s.Linux!.Devices = Array.from({ length: n }, (_, i) => ({ Path: `/dev/d${i}`, Type: "c", Major: 1, Minor: 3 }))), SPEC_LIMITS.devices],
    ["Spec.Linux.MaskedPaths", (s, n) => (s.Linux!.MaskedPaths = Array.from({ length: n }, (_, i) => `/m${i}`)), SPEC_LIMITS.maskedPaths],
    ["Spec.Linux.ReadonlyPaths", (s, n) => (s.Linux!.ReadonlyPaths = Array.from({ length: n }, (_, i) => `/r${i}`)), SPEC_LIMITS.readonlyPaths],
    ["Spec.Process.Env", (s, n) => (s.Process!.Env = Array.from({ length: n }, (_, i) => `V${i}=x`)), SPEC_LIMITS.env],
    ["Spec.Process.Args", (s, n) => (s.Process!.Args = Array.from({ length: n }, () => "a")), SPEC_LIMITS.args],
  ];
  for (const [field, set, max] of cases) {
    test(`${field}: ${max} accepted, ${max + 1} refused`, () => {
      const s = good();
      set(s, max);
      expect(failure(() => validateSpec(s)).kind).not.toBe("resource-exhausted");
      set(s, max + 1);
      const f = failure(() => validateSpec(s));
      expect(f.kind).toBe("resource-exhausted");
      expect(f.message).toStartWith(field);
    });
  }
  test("the status is RESOURCE_EXHAUSTED", () => {
    const s = good();
    s.Mounts = Array.from({ length: 16000 }, (_, i) => ({ destination: `/m${i}`, type: "tmpfs" }));
    let err: unknown;
    try {
      validateSpec(s);
    } catch (e) {
      err = e;
    }
    expect(statusFor("CreateContainer", err).code).toBe(Code.RESOURCE_EXHAUSTED);
  });
  test("ExecProcess: the process alone", () => {
    const f = failure(() => validateProcess({ Args: ["sh"], Cwd: "/", Env: Array.from({ length: SPEC_LIMITS.env + 1 }, () => "A=1") }));
    expect(f.kind).toBe("resource-exhausted");
    expect(f.message).toStartWith("Process.Env");
  });
});

describe("strings execve cannot take → INVALID_ARGUMENT", () => {
  test("a NUL byte in an argument or env entry", () => {
    expect(failure(() => validateProcess({ Args: ["sh", "a\0b"], Cwd: "/" }))).toEqual({ kind: "invalid", message: expect.stringContaining("Process.Args[1] contains a NUL byte") });
    expect(failure(() => validateProcess({ Args: ["sh"], Env: ["A=\0"], Cwd: "/" })).message).toContain("Process.Env[0]");
  });
  test("one string of MAX_ARG_STRLEN bytes", () => {
    const f = failure(() => validateProcess({ Args: ["sh", "x".repeat(MAX_ARG_STRLEN)], Cwd: "/" }));
    expect(f.kind).toBe("invalid");
    expect(f.message).toContain("Process.Args[1]");
  });
});

test("path lookups scale with depth, not with the number of mounts", () => {
  function timeFor(n: number): number {
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const t0 = performance.now();
      const view = new RootView("/nonexistent-rootfs");
      for (let i = 0; i < n; i++) {
        view.resolve(`/data/vol${i}/sub`);
        view.addMount({ dest: `/data/vol${i}` });
      }
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  }
  const small = timeFor(1024);
  const large = timeFor(SPEC_LIMITS.mounts * 2);
  // Linear: ×8 the work. Quadratic (one scan of every mount per component) would be ×64.
  expect(large / Math.max(small, 0.5)).toBeLessThan(24);
});
