// Syscall name → number for the architectures the compiler knows (tables generated from the
// kernel headers, parsed on first use).
import { X32_SYSCALLS, X86_64_SYSCALLS } from "./syscalls-x86_64.ts";
import { X86_SYSCALLS } from "./syscalls-x86.ts";

function parse(table: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const entry of table.split(",")) {
    const [name, nr] = entry.split(":");
    m.set(name!, Number(nr));
  }
  return m;
}

let x86_64: Map<string, number> | undefined;
let x32: Map<string, number> | undefined;
let x86: Map<string, number> | undefined;

/** Numbers as the kernel sees them (x32 ones without __X32_SYSCALL_BIT). */
export function syscallTable(arch: "x86_64" | "x32" | "x86"): Map<string, number> {
  if (arch === "x86_64") return (x86_64 ??= parse(X86_64_SYSCALLS));
  if (arch === "x86") return (x86 ??= parse(X86_SYSCALLS));
  return (x32 ??= parse(X32_SYSCALLS));
}

/** i386's multiplexers: socketcall(2) and ipc(2) take the call's number as their first argument.
 *  Old 32-bit programs reach these calls only through them (the direct syscalls came with Linux
 *  4.3 and 5.1, and accept, send, recv, semop and semtimedop have none), so a rule for one of
 *  these names also covers its multiplexed form, as libseccomp does. */
export const X86_MUX: ReadonlyMap<string, { nr: number; call: number }> = new Map<string, { nr: number; call: number }>([
  ...["socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername", "socketpair", "send", "recv", "sendto",
    "recvfrom", "shutdown", "setsockopt", "getsockopt", "sendmsg", "recvmsg", "accept4", "recvmmsg", "sendmmsg"]
    .map((name, i): [string, { nr: number; call: number }] => [name, { nr: 102, call: i + 1 }]),
  ...([["semop", 1], ["semget", 2], ["semctl", 3], ["semtimedop", 4], ["msgsnd", 11], ["msgrcv", 12], ["msgget", 13],
    ["msgctl", 14], ["shmat", 21], ["shmdt", 22], ["shmget", 23], ["shmctl", 24]] as const)
    .map(([name, call]): [string, { nr: number; call: number }] => [name, { nr: 117, call }]),
]);
