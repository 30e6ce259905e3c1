// Syscall name → number for the architectures the compiler knows (tables generated from the
// kernel headers, parsed on first use).
import { X32_SYSCALLS, X86_64_SYSCALLS } from "./syscalls-x86_64.ts";

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

/** Numbers as the kernel sees them (x32 ones without __X32_SYSCALL_BIT). */
export function syscallTable(arch: "x86_64" | "x32"): Map<string, number> {
  if (arch === "x86_64") return (x86_64 ??= parse(X86_64_SYSCALLS));
  return (x32 ??= parse(X32_SYSCALLS));
}
