// A classic-BPF interpreter for seccomp programs (test oracle): runs a filter on one
// struct seccomp_data and returns the SECCOMP_RET_* value, so two filters can be compared
// decision by decision.
import { decode, type Insn } from "../../../src/seccomp/bpf.ts";

export interface SeccompData {
  nr: number;
  arch: number;
  args: bigint[];
}

function word(d: SeccompData, off: number): number {
  if (off === 0) return d.nr >>> 0;
  if (off === 4) return d.arch >>> 0;
  if (off === 8 || off === 12) return 0; // instruction pointer
  const i = (off - 16) >> 3;
  const v = BigInt.asUintN(64, d.args[i] ?? 0n);
  return Number(off % 8 === 0 ? v & 0xffff_ffffn : v >> 32n) >>> 0;
}

const decoded = new WeakMap<Uint8Array, Insn[]>();

export function run(prog: Insn[] | Uint8Array, d: SeccompData): number {
  let p: Insn[];
  if (prog instanceof Uint8Array) {
    p = decoded.get(prog) ?? decode(prog);
    decoded.set(prog, p);
  } else p = prog;
  let A = 0, X = 0;
  const M = new Array<number>(16).fill(0);
  for (let pc = 0, steps = 0; pc < p.length && steps < 100_000; pc++, steps++) {
    const { code, jt, jf, k } = p[pc]!;
    const cls = code & 0x07;
    switch (cls) {
      case 0x00: // LD
        if ((code & 0xe0) === 0x20) A = word(d, k); // ABS
        else if ((code & 0xe0) === 0x00) A = k >>> 0; // IMM
        else if ((code & 0xe0) === 0x60) A = M[k]!; // MEM
        else throw new Error(`ld mode ${code.toString(16)}`);
        break;
      case 0x01: // LDX
        if ((code & 0xe0) === 0x00) X = k >>> 0;
        else if ((code & 0xe0) === 0x60) X = M[k]!;
        else throw new Error(`ldx mode ${code.toString(16)}`);
        break;
      case 0x02: M[k] = A; break; // ST
      case 0x03: M[k] = X; break; // STX
      case 0x04: { // ALU
        const src = code & 0x08 ? X : k >>> 0;
        switch (code & 0xf0) {
          case 0x00: A = (A + src) >>> 0; break;
          case 0x10: A = (A - src) >>> 0; break;
          case 0x20: A = Math.imul(A, src) >>> 0; break;
          case 0x40: A = (A | src) >>> 0; break;
          case 0x50: A = (A & src) >>> 0; break;
          case 0x60: A = (A << src) >>> 0; break;
          case 0x70: A = A >>> src; break;
          case 0x80: A = (-A) >>> 0; break;
          case 0xa0: A = (A ^ src) >>> 0; break;
          default: throw new Error(`alu op ${code.toString(16)}`);
        }
        break;
      }
      case 0x05: { // JMP
        const op = code & 0xf0;
        if (op === 0x00) { pc += k; break; }
        const src = code & 0x08 ? X : k >>> 0;
        const a = A >>> 0;
        const cond = op === 0x10 ? a === src : op === 0x20 ? a > src : op === 0x30 ? a >= src : op === 0x40 ? (a & src) !== 0 : undefined;
        if (cond === undefined) throw new Error(`jmp op ${code.toString(16)}`);
        pc += cond ? jt : jf;
        break;
      }
      case 0x06: // RET
        return ((code & 0x18) === 0x10 ? A : k) >>> 0;
      case 0x07: // MISC
        if (code & 0x80) A = X; else X = A;
        break;
    }
  }
  throw new Error("BPF program ran off its end");
}
