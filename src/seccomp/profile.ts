// The OCI Linux.Seccomp profile as plain data, and what each of its names means to the kernel:
// actions (SECCOMP_RET_*), architectures (AUDIT_ARCH_*), comparison operators and filter flags.
// Names and defaults follow Kata's agent (rustjail seccomp.rs, on libseccomp): ERRNO and TRACE
// carry errnoRet (EPERM when absent); a rule whose action equals the default is skipped; unknown
// syscall names are skipped; an unknown action, architecture, operator or flag is an error.
import { AgentError } from "../errors.ts";

export interface SeccompArg {
  index: number;
  value: bigint;
  valueTwo: bigint;
  op: string;
}

export interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args: SeccompArg[];
}

export interface SeccompProfile {
  defaultAction: string;
  architectures: string[];
  flags: string[];
  syscalls: SeccompRule[];
}

export class SeccompError extends AgentError {
  constructor(field: string, message: string) {
    super("invalid", `Spec.Linux.Seccomp.${field} ${message}`);
    this.name = "SeccompError";
  }
}

const EPERM = 1;

export const RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

/** The SECCOMP_RET_* value of an OCI action name. */
export function actionValue(field: string, action: string, errnoRet: number | undefined): number {
  const data = (errnoRet ?? EPERM) & 0xffff;
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return RET.KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return RET.KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return RET.TRAP;
    case "SCMP_ACT_ERRNO":
      return (RET.ERRNO | data) >>> 0;
    case "SCMP_ACT_TRACE":
      return (RET.TRACE | data) >>> 0;
    case "SCMP_ACT_LOG":
      return RET.LOG;
    case "SCMP_ACT_ALLOW":
      return RET.ALLOW;
    case "SCMP_ACT_NOTIFY":
      // A notify listener needs a seccomp agent on the host side (listenerPath), which a guest
      // agent has no way to reach.
      throw new SeccompError(field, `"SCMP_ACT_NOTIFY" is not supported: there is no seccomp notify agent in the guest`);
    default:
      throw new SeccompError(field, `${JSON.stringify(action)} is not a seccomp action (SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, ...)`);
  }
}

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const X32_SYSCALL_BIT = 0x40000000;

/** Architectures a filter can name. x86_64, x32 and i386 (32-bit x86 programs, AUDIT_ARCH_I386)
 *  run on this guest and have syscall tables here; a filter that does not list one of them gives
 *  its programs the bad-architecture action (kill). Other architectures never run here. */
export type Arch = "x86_64" | "x32" | "x86" | "other";

export function archOf(field: string, name: string): Arch {
  switch (name) {
    case "SCMP_ARCH_X86_64":
      return "x86_64";
    case "SCMP_ARCH_X32":
      return "x32";
    case "SCMP_ARCH_X86":
      return "x86";
    case "SCMP_ARCH_ARM":
    case "SCMP_ARCH_AARCH64":
    case "SCMP_ARCH_MIPS":
    case "SCMP_ARCH_MIPS64":
    case "SCMP_ARCH_MIPS64N32":
    case "SCMP_ARCH_MIPSEL":
    case "SCMP_ARCH_MIPSEL64":
    case "SCMP_ARCH_MIPSEL64N32":
    case "SCMP_ARCH_PPC":
    case "SCMP_ARCH_PPC64":
    case "SCMP_ARCH_PPC64LE":
    case "SCMP_ARCH_S390":
    case "SCMP_ARCH_S390X":
    case "SCMP_ARCH_PARISC":
    case "SCMP_ARCH_PARISC64":
    case "SCMP_ARCH_RISCV64":
    case "SCMP_ARCH_LOONGARCH64":
      return "other";
    default:
      throw new SeccompError(field, `${JSON.stringify(name)} is not a seccomp architecture (SCMP_ARCH_X86_64, SCMP_ARCH_X32, ...)`);
  }
}

/** seccomp(2) SECCOMP_FILTER_FLAG_* bits. */
export function flagValue(field: string, name: string): number {
  switch (name) {
    case "SECCOMP_FILTER_FLAG_TSYNC":
      return 1;
    case "SECCOMP_FILTER_FLAG_LOG":
      return 2;
    case "SECCOMP_FILTER_FLAG_SPEC_ALLOW":
      return 4;
    default:
      throw new SeccompError(field, `${JSON.stringify(name)} is not a supported seccomp flag (SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW)`);
  }
}

export type CmpOp = "ne" | "lt" | "le" | "eq" | "ge" | "gt" | "masked-eq";

export function opOf(field: string, op: string): CmpOp {
  const ops: Record<string, CmpOp> = {
    SCMP_CMP_NE: "ne", SCMP_CMP_LT: "lt", SCMP_CMP_LE: "le", SCMP_CMP_EQ: "eq", SCMP_CMP_GE: "ge",
    SCMP_CMP_GT: "gt", SCMP_CMP_MASKED_EQ: "masked-eq",
  };
  const o = Object.hasOwn(ops, op) ? ops[op] : undefined;
  if (!o) throw new SeccompError(field, `${JSON.stringify(op)} is not a comparison (SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ, ...)`);
  return o;
}
