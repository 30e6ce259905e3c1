// Machine-wide settings an init-mode agent owns.
import { C, check, cstr, ptr } from "./libc.ts";

export function setHostname(name: string): void {
  const b = cstr(name);
  check(`sethostname(${JSON.stringify(name)})`, C.sethostname(b, BigInt(b.length - 1)));
}

export function setTimeOfDay(sec: number, usec: number): void {
  const tv = new BigInt64Array(new ArrayBuffer(16));
  tv[0] = BigInt(Math.trunc(sec));
  tv[1] = BigInt(Math.trunc(usec));
  check("settimeofday", C.syscall(164 /* settimeofday */, BigInt(ptr(tv)), 0n, 0n, 0n, 0n));
}
