// cgroup v2 has no devices controller: access to device nodes is decided by an eBPF program of
// type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup (what runc and Kata's cgroups-rs do).
// This builds that program from the same rules the v1 manager writes (devices.ts): the v1
// whitelist starts with "deny all" and each later rule overrides earlier ones, so the program
// checks the rules from the last to the first and the first that matches decides; nothing
// matching denies.
//
// The program sees struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } with
// access_type = device type (1 block, 2 char) | access (1 mknod, 2 read, 4 write) << 16, and
// returns 1 to allow, 0 to deny.
import type { DeviceWrite } from "./devices.ts";

export interface DeviceRule {
  allow: boolean;
  /** "a" = any type. */
  type: "a" | "b" | "c";
  /** -1 = any. */
  major: number;
  minor: number;
  /** Subset of "rwm". */
  access: string;
}

/** The v1 writes (devices.allow / devices.deny lines, in order) as rules. */
export function rulesFromWrites(writes: readonly DeviceWrite[]): DeviceRule[] {
  const out: DeviceRule[] = [];
  for (const w of writes) {
    const allow = w.file === "devices.allow";
    if (w.rule === "a") {
      out.push({ allow, type: "a", major: -1, minor: -1, access: "rwm" });
      continue;
    }
    const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(w.rule);
    if (!m) throw new Error(`device rule ${JSON.stringify(w.rule)} is not "type major:minor access"`);
    const num = (s: string) => (s === "*" ? -1 : Number(s));
    out.push({ allow, type: m[1] as DeviceRule["type"], major: num(m[2]!), minor: num(m[3]!), access: m[4]! });
  }
  return out;
}

// eBPF encoding: u8 opcode, u8 dst_reg:4 | src_reg:4 << 4, s16 off, s32 imm.
const LDX_W = 0x61; // dst = *(u32 *)(src + off)
const ALU32_AND_K = 0x54;
const ALU32_RSH_K = 0x74;
const ALU32_MOV_K = 0xb4;
const ALU32_MOV_X = 0xbc;
const JMP_JNE_K = 0x55; // if dst != imm goto +off
const EXIT = 0x95;

interface Insn {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (op: number, dst: number, src: number, off: number, imm: number): Insn => ({ op, dst, src, off, imm });

const TYPE_BLOCK = 1, TYPE_CHAR = 2;
const ACC_MKNOD = 1, ACC_READ = 2, ACC_WRITE = 4;

function accessMask(access: string): number {
  return (access.includes("m") ? ACC_MKNOD : 0) | (access.includes("r") ? ACC_READ : 0) | (access.includes("w") ? ACC_WRITE : 0);
}

/** The program's instructions (little-endian, 8 bytes each). */
export function deviceFilterProgram(rules: readonly DeviceRule[]): Uint8Array {
  // r2 = type, r3 = access, r4 = major, r5 = minor (r1 = ctx)
  const prog: Insn[] = [
    insn(LDX_W, 2, 1, 0, 0),
    insn(ALU32_MOV_X, 3, 2, 0, 0),
    insn(ALU32_AND_K, 2, 0, 0, 0xffff),
    insn(ALU32_RSH_K, 3, 0, 0, 16),
    insn(LDX_W, 4, 1, 4, 0),
    insn(LDX_W, 5, 1, 8, 0),
  ];
  for (const r of [...rules].reverse()) {
    const block: Insn[] = [];
    // Each check jumps past the rest of this block when it does not match; offsets are filled
    // in once the block's length is known.
    const skips: number[] = [];
    const check = (dst: number, imm: number) => {
      skips.push(block.length);
      block.push(insn(JMP_JNE_K, dst, 0, 0, imm));
    };
    if (r.type !== "a") check(2, r.type === "b" ? TYPE_BLOCK : TYPE_CHAR);
    const mask = accessMask(r.access);
    if (r.type !== "a" && mask !== 7) {
      // The requested access must be within the rule's: (access & ~mask) == 0.
      block.push(insn(ALU32_MOV_X, 0, 3, 0, 0), insn(ALU32_AND_K, 0, 0, 0, ~mask & 7));
      check(0, 0);
    }
    if (r.type !== "a" && r.major >= 0) check(4, r.major);
    if (r.type !== "a" && r.minor >= 0) check(5, r.minor);
    block.push(insn(ALU32_MOV_K, 0, 0, 0, r.allow ? 1 : 0), insn(EXIT, 0, 0, 0, 0));
    for (const at of skips) block[at]!.off = block.length - at - 1;
    prog.push(...block);
    // A rule for every device decides everything: the rules before it can never be reached.
    if (r.type === "a") return encode(prog);
  }
  prog.push(insn(ALU32_MOV_K, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0));
  return encode(prog);
}

function encode(prog: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(prog.length * 8);
  const v = new DataView(out.buffer);
  prog.forEach((x, i) => {
    v.setUint8(i * 8, x.op);
    v.setUint8(i * 8 + 1, (x.dst & 0xf) | ((x.src & 0xf) << 4));
    v.setInt16(i * 8 + 2, x.off, true);
    v.setInt32(i * 8 + 4, x.imm, true);
  });
  return out;
}
