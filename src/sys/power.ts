// Process-wide and machine-wide controls an init-mode agent needs.
import { C, check, ptr } from "./libc.ts";

const RB_POWER_OFF = 0x4321fedc;
const PR_SET_DUMPABLE = 4;
const RLIMIT_CORE = 4;

export function syncAll(): void {
  C.sync();
}

/** Powers the machine off. Only returns if the kernel refused (not PID 1 / no CAP_SYS_BOOT). */
export function powerOff(): void {
  C.sync();
  check("reboot(RB_POWER_OFF)", C.reboot(RB_POWER_OFF));
}

export function newSession(): void {
  // EPERM means we already lead a process group (e.g. started by a shell): nothing to do.
  C.setsid();
}

export function setDumpable(on: boolean): void {
  check("prctl(PR_SET_DUMPABLE)", C.prctl(PR_SET_DUMPABLE, on ? 1n : 0n, 0n, 0n, 0n));
}

/** devmode: unlimited core dumps. */
export function allowCoreDumps(): void {
  const lim = new BigUint64Array(new ArrayBuffer(16));
  lim[0] = 0xffffffffffffffffn;
  lim[1] = 0xffffffffffffffffn;
  check("setrlimit(RLIMIT_CORE)", C.syscall(160 /* setrlimit */, BigInt(RLIMIT_CORE), BigInt(ptr(lim)), 0n, 0n, 0n));
}

