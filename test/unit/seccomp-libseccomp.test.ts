// The seccomp compiler against an independent oracle: libseccomp (what Kata's agent uses)
// compiles the same profiles in a small C helper that exports its BPF; a BPF interpreter runs
// both programs for every syscall number of every architecture section × a set of argument
// values, and the two must return the same action every time.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSeccomp } from "../../src/seccomp/compile.ts";
import { actionValue, archOf, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, opOf, X32_SYSCALL_BIT, type SeccompProfile } from "../../src/seccomp/profile.ts";
import { syscallTable } from "../../src/seccomp/syscalls.ts";
import { run, type SeccompData } from "../helpers/seccomp/bpf-interp.ts";
import { dockerProfile, DOCKER_DEFAULT_CAPS } from "../helpers/seccomp/docker-profile.ts";

let helper = "";
const dir = mkdtempSync(join(tmpdir(), "libseccomp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  helper = join(dir, "export");
  const cc = Bun.spawnSync(["cc", "-O1", "-o", helper, join(import.meta.dir, "../helpers/seccomp/libseccomp-export.c"), "-lseccomp"]);
  if (cc.exitCode !== 0) throw new Error(`building the libseccomp helper failed (needs cc and libseccomp-dev): ${cc.stderr.toString()}`);
});

const OPS: Record<string, number> = { ne: 1, lt: 2, le: 3, eq: 4, ge: 5, gt: 6, "masked-eq": 7 };

/** The profile reduced the way Kata feeds libseccomp (action == default skipped). */
function helperInput(p: SeccompProfile): string {
  const def = actionValue("defaultAction", p.defaultAction, undefined);
  const lines = [`default ${def}`];
  for (const a of p.architectures) {
    const arch = archOf("a", a);
    if (arch !== "other") lines.push(`arch ${arch}`);
  }
  for (const s of p.syscalls) {
    const act = actionValue("action", s.action, s.errnoRet);
    if (act === def) continue;
    for (const name of s.names) {
      const args = s.args.map((a) => {
        const op = opOf("op", a.op);
        return op === "masked-eq" ? `${a.index} ${OPS[op]} ${a.value} ${a.valueTwo}` : `${a.index} ${OPS[op]} ${a.value} 0`;
      });
      lines.push(`rule ${act} ${name} ${args.length} ${args.join(" ")}`.trim());
    }
  }
  return lines.join("\n") + "\n";
}

function libseccomp(p: SeccompProfile): Uint8Array {
  const r = Bun.spawnSync([helper], { stdin: Buffer.from(helperInput(p)) });
  if (r.exitCode !== 0) throw new Error(`libseccomp helper: exit ${r.exitCode}: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

/** Argument values around every constant the profile compares with. */
function argValues(p: SeccompProfile): bigint[] {
  const v = new Set<bigint>([0n, 1n, 2n, 0x7fffffffn, 0xffffffffn, 0x100000000n, 0x1_0000_0001n, 0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n]);
  for (const s of p.syscalls) {
    for (const a of s.args) {
      for (const x of [a.value, a.valueTwo]) {
        for (const d of [x, x - 1n, x + 1n, x ^ 0xffffffffn, x | 0x1_0000_0000n, x & 0xffffffffn, x << 1n]) v.add(BigInt.asUintN(64, d));
      }
      if (a.op === "SCMP_CMP_MASKED_EQ") {
        v.add(a.valueTwo | (~a.value & 0xffn));
        v.add(BigInt.asUintN(64, a.valueTwo | ~a.value));
      }
    }
  }
  return [...v];
}

/** Per audit arch, the numbers of the syscalls whose rules compare arguments (x86_64 and x32
 *  share AUDIT_ARCH_X86_64). On i386 the multiplexers always compare their first argument. */
function withArgs(p: SeccompProfile): Map<number, Set<number>> {
  const x64 = new Set<number>(), i386 = new Set<number>([102, 117]);
  for (const s of p.syscalls) {
    if (s.args.length === 0) continue;
    for (const name of s.names) {
      const a = syscallTable("x86_64").get(name), b = syscallTable("x32").get(name), c = syscallTable("x86").get(name);
      if (a !== undefined) x64.add(a);
      if (b !== undefined) x64.add((b | X32_SYSCALL_BIT) >>> 0);
      if (c !== undefined) i386.add(c);
    }
  }
  return new Map([[AUDIT_ARCH_X86_64, x64], [AUDIT_ARCH_I386, i386]]);
}

function inputs(p: SeccompProfile): SeccompData[] {
  const out: SeccompData[] = [];
  // Around every constant, plus every socketcall/ipc call number (and a few past them).
  const values = [...new Set([...argValues(p), ...Array.from({ length: 27 }, (_, i) => BigInt(i))])];
  const argNrs = withArgs(p);
  const zero = [0n, 0n, 0n, 0n, 0n, 0n];
  for (const arch of [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 0xc00000b7 /* aarch64 */]) {
    const nrs: number[] = [];
    for (let n = 0; n < 480; n++) nrs.push(n, (X32_SYSCALL_BIT + n) >>> 0);
    nrs.push(0x3fffffff, 0x7fffffff, 0xffffffff, 0xfffffffe);
    for (const nr of nrs) {
      out.push({ nr, arch, args: zero });
      if (!argNrs.get(arch)?.has(nr)) continue;
      for (let i = 0; i < 6; i++) for (const x of values) { const args = [...zero]; args[i] = x; out.push({ nr, arch, args }); }
      for (const x of values) out.push({ nr, arch, args: [x, x, x, x, x, x] });
      // A multiplexed call with each call number and each value in another argument.
      if (arch === AUDIT_ARCH_I386 && (nr === 102 || nr === 117)) {
        for (let call = 0n; call < 27n; call++) for (let i = 1; i < 6; i++) for (const x of values) { const args = [call, ...zero.slice(1)]; args[i] = x; out.push({ nr, arch, args }); }
      }
    }
  }
  return out;
}

/** Both compilers get the same profile: names this libseccomp does not know yet (syscalls newer
 *  than it) are left out of it, since libseccomp would skip them while we would not. */
function knownToLibseccomp(p: SeccompProfile): SeccompProfile {
  const all = [...new Set(p.syscalls.flatMap((s) => s.names))];
  const r = Bun.spawnSync([helper, "--known"], { stdin: Buffer.from(all.join("\n")) });
  const known = new Set(r.stdout.toString().split("\n"));
  return { ...p, syscalls: p.syscalls.map((s) => ({ ...s, names: s.names.filter((n) => known.has(n)) })).filter((s) => s.names.length > 0) };
}

function agree(profile: SeccompProfile): { checked: number; ours: number; theirs: number } {
  const p = knownToLibseccomp(profile);
  const ours = compileSeccomp(p).filter;
  const theirs = libseccomp(p);
  const cases = inputs(p);
  const diffs: string[] = [];
  for (const d of cases) {
    const a = run(ours, d), b = run(theirs, d);
    if (a !== b && diffs.length < 10) diffs.push(`nr=${d.nr.toString(16)} arch=${d.arch.toString(16)} args=${d.args.map((x) => x.toString(16)).join(",")}: ours ${a.toString(16)} libseccomp ${b.toString(16)}`);
  }
  expect(diffs).toEqual([]);
  return { checked: cases.length, ours: ours.length / 8, theirs: theirs.length / 8 };
}

const rule = (names: string[], action: string, args: SeccompProfile["syscalls"][number]["args"] = [], errnoRet?: number) => ({ names, action, args, errnoRet });
const arg = (index: number, op: string, value: bigint, valueTwo = 0n) => ({ index, op, value, valueTwo });

describe("compiled filters decide like libseccomp's", () => {
  test("allow-all but mkdirat → EPERM (x86_64 only)", () => {
    agree({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"], flags: [], syscalls: [rule(["mkdirat", "mkdir"], "SCMP_ACT_ERRNO")] });
  });

  test("every action, with x32 too", () => {
    agree({
      defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"], flags: [],
      syscalls: [
        rule(["read", "write", "exit_group"], "SCMP_ACT_ALLOW"),
        rule(["ptrace"], "SCMP_ACT_KILL_PROCESS"),
        rule(["kexec_load"], "SCMP_ACT_KILL"),
        rule(["reboot"], "SCMP_ACT_KILL_THREAD"),
        rule(["mount"], "SCMP_ACT_TRAP"),
        rule(["unshare"], "SCMP_ACT_TRACE", [], 7),
        rule(["getpid"], "SCMP_ACT_LOG"),
        rule(["clone3"], "SCMP_ACT_ERRNO", [], 38),
        rule(["rt_sigaction", "preadv2"], "SCMP_ACT_ALLOW"), // x32 has its own numbers (512+) for these
      ],
    });
  });

  test("argument comparisons: every operator, 64-bit values, masked-equal with high bits", () => {
    agree({
      defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64"], flags: [],
      syscalls: [
        rule(["personality"], "SCMP_ACT_ALLOW", [arg(0, "SCMP_CMP_EQ", 0xffffffffn)]),
        rule(["personality"], "SCMP_ACT_ALLOW", [arg(0, "SCMP_CMP_EQ", 8n)]),
        rule(["socket"], "SCMP_ACT_ALLOW", [arg(0, "SCMP_CMP_NE", 40n)]),
        rule(["lseek"], "SCMP_ACT_ALLOW", [arg(1, "SCMP_CMP_LT", 0x1_0000_0010n)]),
        rule(["pread64"], "SCMP_ACT_ALLOW", [arg(3, "SCMP_CMP_LE", 4096n)]),
        rule(["pwrite64"], "SCMP_ACT_ALLOW", [arg(3, "SCMP_CMP_GE", 0x2_0000_0000n)]),
        rule(["mmap"], "SCMP_ACT_ALLOW", [arg(2, "SCMP_CMP_GT", 3n), arg(5, "SCMP_CMP_EQ", 0n)]),
        rule(["clone"], "SCMP_ACT_ALLOW", [arg(0, "SCMP_CMP_MASKED_EQ", 2114060288n, 0n)]),
        rule(["ioctl"], "SCMP_ACT_ALLOW", [arg(1, "SCMP_CMP_MASKED_EQ", 0xffff_0000_0000_ff00n, 0x1234_0000_0000_5400n)]),
        rule(["kill"], "SCMP_ACT_ERRNO", [arg(1, "SCMP_CMP_EQ", 9n)], 13),
      ],
    });
  });

  test("Docker's default profile (default caps, and with CAP_SYS_ADMIN)", () => {
    const a = agree(dockerProfile());
    const b = agree(dockerProfile([...DOCKER_DEFAULT_CAPS, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]));
    console.log(`docker default: ${a.checked} inputs, ${a.ours} instructions (libseccomp ${a.theirs}); with SYS_ADMIN: ${b.checked} inputs`);
    // Shared returns keep the filter near libseccomp's size (it was 2.1× with a return per syscall).
    for (const x of [a, b]) expect(x.ours).toBeLessThan(x.theirs * 1.3);
  });

  test("x32 compares the low 32 bits of arguments", () => {
    agree({
      defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"], flags: [],
      syscalls: [
        rule(["socket"], "SCMP_ACT_ALLOW", [arg(0, "SCMP_CMP_NE", 40n)]),
        rule(["personality"], "SCMP_ACT_ALLOW", [arg(0, "SCMP_CMP_EQ", 0xffffffffn)]),
        rule(["lseek"], "SCMP_ACT_ALLOW", [arg(2, "SCMP_CMP_LE", 2n), arg(1, "SCMP_CMP_GT", 100n)]),
        rule(["clone"], "SCMP_ACT_ALLOW", [arg(0, "SCMP_CMP_MASKED_EQ", 2114060288n, 0n)]),
        rule(["pread64"], "SCMP_ACT_ALLOW", [arg(3, "SCMP_CMP_LT", 4096n)]),
        rule(["pwrite64"], "SCMP_ACT_ALLOW", [arg(3, "SCMP_CMP_GE", 4096n)]),
      ],
    });
  });

  test("i386: socket and SysV IPC rules also cover socketcall(2) and ipc(2), argument rules included", () => {
    agree({
      defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], flags: [],
      syscalls: [
        rule(["read", "write", "exit_group", "mmap2", "fstat64"], "SCMP_ACT_ALLOW"),
        rule(["socket"], "SCMP_ACT_ALLOW", [arg(0, "SCMP_CMP_NE", 40n)]),
        rule(["connect", "accept", "send", "recv"], "SCMP_ACT_ALLOW"), // accept, send, recv: socketcall only
        rule(["setsockopt"], "SCMP_ACT_ALLOW", [arg(1, "SCMP_CMP_EQ", 1n), arg(2, "SCMP_CMP_LT", 30n)]),
        rule(["shmget", "semop"], "SCMP_ACT_ALLOW"),
        rule(["msgctl"], "SCMP_ACT_ERRNO", [], 13),
        rule(["personality"], "SCMP_ACT_ALLOW", [arg(0, "SCMP_CMP_EQ", 0xffffffffn)]),
        rule(["clone"], "SCMP_ACT_ALLOW", [arg(0, "SCMP_CMP_MASKED_EQ", 2114060288n, 0n)]),
      ],
    });
  });

  test("i386: a rule for socketcall or ipc itself, and an allow-all default", () => {
    agree({
      defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_X86"], flags: [],
      syscalls: [rule(["socketcall"], "SCMP_ACT_ERRNO", [], 1), rule(["shmat"], "SCMP_ACT_KILL_PROCESS"), rule(["bind"], "SCMP_ACT_LOG")],
    });
  });

  test("i386 only: x86_64 and x32 programs get the bad-architecture action", () => {
    agree({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86"], flags: [], syscalls: [rule(["mkdir", "sendto"], "SCMP_ACT_ERRNO", [], 13)] });
  });

  test("x32 only", () => {
    agree({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X32"], flags: [], syscalls: [rule(["mkdirat", "rt_sigaction"], "SCMP_ACT_ERRNO", [], 13)] });
  });
});
