// Classic BPF for seccomp: the few instructions a filter needs, an assembler with labels, and the
// encoding the kernel reads (struct sock_filter: u16 code, u8 jt, u8 jf, u32 k; little-endian).
// Conditional jumps only reach 255 instructions ahead; the assembler turns a longer one into a
// conditional jump over two unconditional ones (whose offsets are 32-bit).

export const BPF = {
  LD_W_ABS: 0x20, // A = u32 at offset k of struct seccomp_data
  ALU_AND_K: 0x54, // A &= k
  JMP_JA: 0x05, // pc += k
  JMP_JEQ_K: 0x15,
  JMP_JGT_K: 0x25,
  JMP_JGE_K: 0x35,
  RET_K: 0x06,
} as const;

/** Offsets in struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }. */
export const DATA = {
  nr: 0,
  arch: 4,
  argLow: (i: number) => 16 + 8 * i,
  argHigh: (i: number) => 16 + 8 * i + 4,
} as const;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export type Label = { readonly name: string };

type Target = Label | "next";
type Item =
  | { kind: "op"; code: number; k: number }
  | { kind: "jcond"; code: number; k: number; jt: Label; jf: Label }
  | { kind: "ja"; to: Label }
  | { kind: "label"; label: Label };

/** Builds a program from instructions and labels; `assemble()` resolves every jump. */
export class Assembler {
  private items: Item[] = [];
  private n = 0;
  private labels = 0;

  label(name: string): Label {
    return { name: `${name}#${this.n++}` };
  }
  place(label: Label): void {
    this.items.push({ kind: "label", label });
    this.labels++;
  }
  load(offset: number): void {
    this.items.push({ kind: "op", code: BPF.LD_W_ABS, k: offset });
  }
  and(k: number): void {
    this.items.push({ kind: "op", code: BPF.ALU_AND_K, k: k >>> 0 });
  }
  ret(k: number): void {
    this.items.push({ kind: "op", code: BPF.RET_K, k: k >>> 0 });
  }
  /** if (A op k) goto jt else goto jf ("next" = the following instruction). */
  jump(op: "eq" | "gt" | "ge", k: number, jt: Target, jf: Target): void {
    const code = op === "eq" ? BPF.JMP_JEQ_K : op === "gt" ? BPF.JMP_JGT_K : BPF.JMP_JGE_K;
    // "next" becomes a label right after the jump, so an expanded jump still lands there.
    const next = jt === "next" || jf === "next" ? this.label("next") : undefined;
    this.items.push({ kind: "jcond", code, k: k >>> 0, jt: jt === "next" ? next! : jt, jf: jf === "next" ? next! : jf });
    if (next) this.place(next);
  }
  goto(to: Label): void {
    this.items.push({ kind: "ja", to });
  }
  /** Instructions so far, before long jumps are expanded. */
  get length(): number {
    return this.items.length - this.labels;
  }

  assemble(): Insn[] {
    // Expand conditional jumps that reach too far until every offset fits (each expansion only
    // moves code further apart, so this ends).
    let items = this.items;
    for (;;) {
      const pos = positions(items);
      let changed = false;
      const out: Item[] = [];
      items.forEach((it, i) => {
        if (it.kind === "jcond" && (tooFar(pos, i, it.jt) || tooFar(pos, i, it.jf))) {
          changed = true;
          // jcond → +0 (true: the first ja) / +1 (false: the second ja)
          const t = this.label("t"), f = this.label("f");
          out.push({ kind: "jcond", code: it.code, k: it.k, jt: t, jf: f });
          out.push({ kind: "label", label: t }, { kind: "ja", to: it.jt as Label });
          out.push({ kind: "label", label: f }, { kind: "ja", to: it.jf as Label });
          return;
        }
        out.push(it);
      });
      items = out;
      if (!changed) break;
    }
    const pos = positions(items);
    const insns: Insn[] = [];
    items.forEach((it, i) => {
      const at = pos.index[i]!;
      if (it.kind === "label") return;
      if (it.kind === "op") insns.push({ code: it.code, jt: 0, jf: 0, k: it.k });
      else if (it.kind === "ja") insns.push({ code: BPF.JMP_JA, jt: 0, jf: 0, k: pos.at.get(it.to)! - at - 1 });
      else insns.push({ code: it.code, k: it.k, jt: offset(pos, at, it.jt), jf: offset(pos, at, it.jf) });
    });
    return insns;
  }
}

interface Positions {
  /** Instruction index of each item (labels: of the instruction that follows). */
  index: number[];
  at: Map<Label, number>;
}

function positions(items: Item[]): Positions {
  const index: number[] = [];
  const at = new Map<Label, number>();
  let n = 0;
  for (const it of items) {
    index.push(n);
    if (it.kind === "label") at.set(it.label, n);
    else n++;
  }
  return { index, at };
}

function offset(pos: Positions, at: number, t: Label): number {
  const to = pos.at.get(t);
  if (to === undefined) throw new Error(`seccomp: label ${t.name} was never placed`);
  const d = to - at - 1;
  if (d < 0 || d > 255) throw new Error(`seccomp: jump to ${t.name} out of range (${d})`);
  return d;
}

function tooFar(pos: Positions, i: number, t: Label): boolean {
  const to = pos.at.get(t);
  return to !== undefined && to - pos.index[i]! - 1 > 255;
}

/** struct sock_filter[] as the kernel reads it. */
export function encode(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const v = new DataView(out.buffer);
  insns.forEach((x, i) => {
    v.setUint16(i * 8, x.code, true);
    v.setUint8(i * 8 + 2, x.jt);
    v.setUint8(i * 8 + 3, x.jf);
    v.setUint32(i * 8 + 4, x.k >>> 0, true);
  });
  return out;
}

export function decode(bytes: Uint8Array): Insn[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let i = 0; i + 8 <= bytes.length; i += 8) {
    out.push({ code: v.getUint16(i, true), jt: v.getUint8(i + 2), jf: v.getUint8(i + 3), k: v.getUint32(i + 4, true) });
  }
  return out;
}
