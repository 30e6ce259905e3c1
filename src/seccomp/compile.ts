// OCI seccomp profile → classic BPF program for seccomp(SECCOMP_SET_MODE_FILTER).
//
// Layout (the shape libseccomp and runc produce, checked against libseccomp in the tests):
//   A = arch;  AUDIT_ARCH_I386 → the i386 section when i386 is listed; not AUDIT_ARCH_X86_64 → kill
//              (bad architecture)
//   A = nr;    nr >= __X32_SYSCALL_BIT → the x32 section (or kill when x32 is not listed)
//   x86_64 section: per syscall with rules, "nr == N ? its block : next"; at the end the default
//   x32 section: the same with x32 numbers; i386 section: the same with i386 numbers, where a
//   rule for a socket or SysV IPC call also covers its socketcall(2)/ipc(2) form (X86_MUX)
// A syscall's block tries its rules in profile order: a rule without arguments answers at once;
// one with arguments answers when every comparison holds (64-bit, as two 32-bit halves) and
// otherwise falls to the next rule; after the last one comes the default action.
import { Assembler, DATA, encode, type Label } from "./bpf.ts";
import {
  actionValue, archOf, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, flagValue, opOf, RET, SeccompError, X32_SYSCALL_BIT,
  type Arch, type CmpOp, type SeccompProfile,
} from "./profile.ts";
import { syscallTable, X86_MUX } from "./syscalls.ts";

export interface CompiledFilter {
  /** struct sock_filter[], 8 bytes per instruction. */
  filter: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2). */
  flags: number;
  /** Names the syscall tables do not know (skipped, as Kata and runc do). */
  unknownNames: string[];
}

interface Cond {
  index: number;
  op: CmpOp;
  value: bigint;
  valueTwo: bigint;
}

interface Rule {
  ret: number;
  conds: Cond[];
}

/** BPF_MAXINSNS: the kernel refuses longer programs. */
const MAX_INSNS = 4096;

const lo = (v: bigint) => Number(v & 0xffff_ffffn);
const hi = (v: bigint) => Number((v >> 32n) & 0xffff_ffffn);

export function compileSeccomp(p: SeccompProfile): CompiledFilter {
  const defaultRet = actionValue("defaultAction", p.defaultAction, undefined);
  const arches = new Set<Arch>(p.architectures.map((a, i) => archOf(`architectures[${i}]`, a)));
  // No architectures listed: the native one only (libseccomp's default).
  if (p.architectures.length === 0) arches.add("x86_64");
  let flags = 0;
  p.flags.forEach((f, i) => (flags |= flagValue(`flags[${i}]`, f)));

  type Section = "x86_64" | "x32" | "x86";
  const perArch = new Map<Section, Map<number, Rule[]>>();
  for (const a of ["x86_64", "x32", "x86"] as const) if (arches.has(a)) perArch.set(a, new Map());
  const add = (rules: Map<number, Rule[]>, nr: number, rule: Rule) => rules.set(nr, [...(rules.get(nr) ?? []), rule]);
  const unknown = new Set<string>();
  p.syscalls.forEach((s, i) => {
    const field = `syscalls[${i}]`;
    if (s.names.length === 0) throw new SeccompError(`${field}.names`, "is empty: a rule needs at least one syscall name");
    const ret = actionValue(`${field}.action`, s.action, s.errnoRet);
    const conds = s.args.map((a, j): Cond => {
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) {
        throw new SeccompError(`${field}.args[${j}].index`, `${a.index} is not an argument index (0..5)`);
      }
      return { index: a.index, op: opOf(`${field}.args[${j}].op`, a.op), value: a.value, valueTwo: a.valueTwo };
    });
    // Kata (and runc) skip rules that would do what the default does anyway.
    if (ret === defaultRet) return;
    for (const name of s.names) {
      for (const [arch, rules] of perArch) {
        const nr = syscallTable(arch).get(name);
        if (nr !== undefined) add(rules, nr, { ret, conds });
        // The multiplexed form: its first argument is the call's number, and libseccomp keeps the
        // rule's other comparisons as they are (they then look at socketcall's or ipc's own
        // arguments), so this does the same.
        const mux = arch === "x86" ? X86_MUX.get(name) : undefined;
        if (mux) add(rules, mux.nr, { ret, conds: [{ index: 0, op: "eq", value: BigInt(mux.call), valueTwo: 0n }, ...conds.filter((c) => c.index !== 0)] });
      }
      if (!(["x86_64", "x32", "x86"] as const).some((a) => syscallTable(a).has(name)) && !X86_MUX.has(name)) unknown.add(name);
    }
  });

  const asm = new Assembler();
  const bad = asm.label("bad-arch");
  const labels: Record<Section, Label> = { x86_64: asm.label("x86_64"), x32: asm.label("x32"), x86: asm.label("x86") };
  asm.load(DATA.arch);
  if (perArch.has("x86")) asm.jump("eq", AUDIT_ARCH_I386, labels.x86, "next");
  if (perArch.has("x86_64") || perArch.has("x32")) {
    asm.jump("eq", AUDIT_ARCH_X86_64, "next", bad);
    asm.load(DATA.nr);
    if (perArch.has("x32")) asm.jump("ge", X32_SYSCALL_BIT, labels.x32, perArch.has("x86_64") ? labels.x86_64 : bad);
    else {
      // x86_64 alone: an x32 number is a bad architecture, except nr -1 (a syscall skipped by a
      // tracer), which gets the x86_64 rules (none match: the default), as libseccomp does.
      const high = asm.label("x32-range");
      asm.jump("ge", X32_SYSCALL_BIT, high, labels.x86_64);
      asm.place(high);
      asm.jump("eq", 0xffffffff, labels.x86_64, bad);
    }
  } else {
    // Neither 64-bit ABI listed (say only SCMP_ARCH_X86, or only architectures that never run
    // here): every x86_64 and x32 program gets the bad-architecture action, as with libseccomp.
    asm.ret(RET.KILL_THREAD);
  }
  for (const [arch, rules] of perArch) {
    asm.place(labels[arch]);
    if (arch === "x86") asm.load(DATA.nr);
    const bit = arch === "x32" ? X32_SYSCALL_BIT : 0;
    // A syscall whose first rule compares nothing jumps straight to a return instruction shared
    // with the others of the same action (one instruction per syscall instead of two, as
    // libseccomp's filters do). The shared returns are laid out in pools, jumped over, at most
    // ~200 instructions after their first use: a conditional jump reaches 255 ahead, and a
    // longer one would be expanded into three instructions.
    let pool = new Map<number, Label>();
    let poolOpened = asm.length;
    const flush = () => {
      if (pool.size === 0) return;
      const over = asm.label("over-returns");
      asm.goto(over);
      for (const [ret, at] of pool) (asm.place(at), asm.ret(ret));
      asm.place(over);
      pool = new Map();
    };
    for (const [nr, list] of [...rules].sort((a, b) => a[0] - b[0])) {
      const first = list[0]!;
      if (first.conds.length === 0) {
        if (pool.size === 0) poolOpened = asm.length;
        let at = pool.get(first.ret);
        if (!at) pool.set(first.ret, (at = asm.label(`ret-${first.ret}`)));
        asm.jump("eq", (nr | bit) >>> 0, at, "next");
        if (asm.length - poolOpened >= 200) flush();
        continue;
      }
      flush(); // a rule block can be long: the pool comes before it
      const skip = asm.label(`not-${arch}-${nr}`);
      asm.jump("eq", (nr | bit) >>> 0, "next", skip);
      emitRules(asm, list, defaultRet, arch === "x86_64");
      asm.place(skip);
    }
    asm.ret(defaultRet);
    // The last pool follows the section's final return: nothing falls into it.
    for (const [ret, at] of pool) (asm.place(at), asm.ret(ret));
  }
  asm.place(bad);
  asm.ret(RET.KILL_THREAD);

  const insns = asm.assemble();
  if (insns.length > MAX_INSNS) {
    throw new SeccompError("syscalls", `compiles to ${insns.length} BPF instructions; the kernel takes at most ${MAX_INSNS}`);
  }
  return { filter: encode(insns), flags, unknownNames: [...unknown] };
}

/** The rules of one syscall (A holds nr); every path ends in a return. */
function emitRules(asm: Assembler, rules: Rule[], defaultRet: number, wide: boolean): void {
  for (const r of rules) {
    if (r.conds.length === 0) {
      asm.ret(r.ret);
      return; // later rules of this syscall can never be reached
    }
    const fail = asm.label("rule-fails");
    for (const c of r.conds) (wide ? emitCond : emitCond32)(asm, c, fail);
    asm.ret(r.ret);
    asm.place(fail);
  }
  asm.ret(defaultRet);
}

/** x32 (a 32-bit ABI): only the low halves of the argument and the values are compared, as
 *  libseccomp does for 32-bit architectures. */
function emitCond32(asm: Assembler, c: Cond, fail: Label): void {
  asm.load(DATA.argLow(c.index));
  const v = lo(c.value);
  switch (c.op) {
    case "eq": asm.jump("eq", v, "next", fail); break;
    case "ne": asm.jump("eq", v, fail, "next"); break;
    case "gt": asm.jump("gt", v, "next", fail); break;
    case "ge": asm.jump("ge", v, "next", fail); break;
    case "lt": asm.jump("ge", v, fail, "next"); break;
    case "le": asm.jump("gt", v, fail, "next"); break;
    case "masked-eq": asm.and(v); asm.jump("eq", lo(c.valueTwo), "next", fail); break;
  }
}

/** Falls through when the comparison holds, jumps to `fail` otherwise. Unsigned 64-bit. */
function emitCond(asm: Assembler, c: Cond, fail: Label): void {
  const pass = asm.label("holds");
  const vHi = hi(c.value), vLo = lo(c.value);
  const loadHi = () => asm.load(DATA.argHigh(c.index));
  const loadLo = () => asm.load(DATA.argLow(c.index));
  switch (c.op) {
    case "eq":
      loadHi(); asm.jump("eq", vHi, "next", fail);
      loadLo(); asm.jump("eq", vLo, "next", fail);
      break;
    case "ne":
      loadHi(); asm.jump("eq", vHi, "next", pass);
      loadLo(); asm.jump("eq", vLo, fail, "next");
      break;
    case "gt":
    case "ge":
      loadHi(); asm.jump("gt", vHi, pass, "next");
      asm.jump("eq", vHi, "next", fail);
      loadLo(); asm.jump(c.op, vLo, "next", fail);
      break;
    case "lt":
    case "le":
      // lt = not ge, le = not gt
      loadHi(); asm.jump("gt", vHi, fail, "next");
      asm.jump("eq", vHi, "next", pass);
      loadLo(); asm.jump(c.op === "lt" ? "ge" : "gt", vLo, fail, "next");
      break;
    case "masked-eq": {
      // (arg & value) == valueTwo
      const dHi = hi(c.valueTwo), dLo = lo(c.valueTwo);
      loadHi(); asm.and(vHi); asm.jump("eq", dHi, "next", fail);
      loadLo(); asm.and(vLo); asm.jump("eq", dLo, "next", fail);
      break;
    }
  }
  asm.place(pass);
}
