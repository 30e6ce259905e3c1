// The seccomp compiler's own rules: refusals with statuses naming the field, flags, long jumps.
import { describe, expect, test } from "bun:test";
import { kindOf } from "../../src/errors.ts";
import { decode } from "../../src/seccomp/bpf.ts";
import { compileSeccomp } from "../../src/seccomp/compile.ts";
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, RET, type SeccompProfile } from "../../src/seccomp/profile.ts";
import { syscallTable } from "../../src/seccomp/syscalls.ts";
import { run } from "../helpers/seccomp/bpf-interp.ts";

const base = (over: Partial<SeccompProfile> = {}): SeccompProfile => ({
  defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"], flags: [], syscalls: [], ...over,
});

function failure(p: SeccompProfile): string {
  try {
    compileSeccomp(p);
  } catch (e) {
    return `${kindOf(e)}: ${(e as Error).message}`;
  }
  return "compiled";
}

describe("refused with INVALID_ARGUMENT naming the field", () => {
  test("SCMP_ACT_NOTIFY (no notify agent in the guest)", () => {
    expect(failure(base({ syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY", args: [] }] })))
      .toBe('invalid: Spec.Linux.Seccomp.syscalls[0].action "SCMP_ACT_NOTIFY" is not supported: there is no seccomp notify agent in the guest');
    expect(failure(base({ defaultAction: "SCMP_ACT_NOTIFY" }))).toStartWith("invalid: Spec.Linux.Seccomp.defaultAction");
  });
  test("unknown action, architecture, flag, operator; argument index out of range; empty names", () => {
    expect(failure(base({ defaultAction: "SCMP_ACT_MAYBE" }))).toContain("defaultAction");
    expect(failure(base({ architectures: ["SCMP_ARCH_VAX"] }))).toContain("architectures[0]");
    expect(failure(base({ flags: ["SECCOMP_FILTER_FLAG_NEW_LISTENER"] }))).toContain("flags[0]");
    expect(failure(base({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1n, valueTwo: 0n, op: "SCMP_CMP_ABOUT" }] }] }))).toContain("syscalls[0].args[0].op");
    expect(failure(base({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 1n, valueTwo: 0n, op: "SCMP_CMP_EQ" }] }] }))).toContain("syscalls[0].args[0].index");
    expect(failure(base({ syscalls: [{ names: [], action: "SCMP_ACT_ERRNO", args: [] }] }))).toContain("syscalls[0].names");
  });
});

test("flags become seccomp(2) flag bits; unknown syscall names are skipped and reported", () => {
  const c = compileSeccomp(base({
    flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
    syscalls: [{ names: ["mkdir", "no_such_call"], action: "SCMP_ACT_ERRNO", args: [] }],
  }));
  expect(c.flags).toBe(7);
  expect(c.unknownNames).toEqual(["no_such_call"]);
});

test("a syscall block longer than a conditional jump reaches still works (long jumps expanded)", () => {
  // 200 rules on one syscall: its block is ~1400 instructions, far past 255.
  const rules = Array.from({ length: 200 }, (_, i) => ({
    names: ["ioctl"], action: "SCMP_ACT_ERRNO", errnoRet: 5, args: [{ index: 1, value: BigInt(1000 + i), valueTwo: 0n, op: "SCMP_CMP_EQ" }],
  }));
  const p = base({ syscalls: [...rules, { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [] }] });
  const { filter } = compileSeccomp(p);
  expect(decode(filter).length).toBeGreaterThan(1000);
  const ioctl = syscallTable("x86_64").get("ioctl")!, mkdir = syscallTable("x86_64").get("mkdir")!;
  const call = (nr: number, a1: bigint) => run(filter, { nr, arch: AUDIT_ARCH_X86_64, args: [0n, a1, 0n, 0n, 0n, 0n] });
  expect(call(ioctl, 1000n)).toBe(RET.ERRNO | 5);
  expect(call(ioctl, 1199n)).toBe(RET.ERRNO | 5);
  expect(call(ioctl, 1200n)).toBe(RET.ALLOW);
  expect(call(mkdir, 0n)).toBe(RET.ERRNO | 13);
  expect(call(0, 0n)).toBe(RET.ALLOW);
});

test("a profile listing only architectures that never run here compiles, and every program gets the bad-architecture action", () => {
  // (It used to fail with an internal "label was never placed" error.)
  const { filter } = compileSeccomp(base({ architectures: ["SCMP_ARCH_AARCH64"], syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_ERRNO", args: [] }] }));
  const zero = [0n, 0n, 0n, 0n, 0n, 0n];
  for (const arch of [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386]) expect(run(filter, { nr: 0, arch, args: zero })).toBe(RET.KILL_THREAD);
});

test("names only i386 has (socketcall, ipc) or reaches only through them (send, recv) are not reported unknown", () => {
  const c = compileSeccomp(base({ architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: ["socketcall", "ipc", "send", "recv", "no_such_call"], action: "SCMP_ACT_ERRNO", args: [] }] }));
  expect(c.unknownNames).toEqual(["no_such_call"]);
});
