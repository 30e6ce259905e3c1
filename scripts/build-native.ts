// Builds the native parts with the system C compiler into build/native/:
//   liblaunch.so  the container launcher (src/sys/native/launch.c), dlopen'ed by src/sys/launcher.ts
//   kata-gate     the static start gate (src/sys/native/gate.c), exec'd from a sealed memfd
//   libuevent.so  the uevent reader thread (src/sys/native/uevent.c), dlopen'ed by src/sys/uevent-socket.ts
// Both get embedded in the compiled agent. `ensureNative()` rebuilds only what is older than its
// source (the test preload and build.ts call it); `bun scripts/build-native.ts` forces a rebuild.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const srcDir = join(root, "src/sys/native");
export const nativeDir = join(root, "build/native");

interface Target {
  out: string;
  src: string;
  args: string[];
  /** Undefined dynamic symbols the output may have (checked with nm -D). */
  allowedUndefined: string[];
}

const targets: Target[] = [
  {
    out: "liblaunch.so",
    src: "launch.c",
    // No libc in the child: freestanding, no builtins (gcc would turn loops into memset/memcpy
    // calls), no stack protector (its canary lives in the parent thread's TLS).
    args: ["-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-fPIC", "-shared", "-ffreestanding",
      "-fno-builtin", "-fno-tree-loop-distribute-patterns", "-fno-stack-protector", "-nostartfiles",
      "-Wl,--build-id=none", "-Wl,-z,noexecstack", "-Wl,-z,now"],
    allowedUndefined: ["clone", "__errno_location"],
  },
  {
    out: "kata-gate",
    src: "gate.c",
    // A few hundred bytes: static, no libc, no relocations, no writable data.
    args: ["-Os", "-Wall", "-Wextra", "-Werror", "-static", "-nostdlib", "-fno-stack-protector",
      "-fno-asynchronous-unwind-tables", "-fno-unwind-tables", "-fno-pie", "-no-pie", "-Wl,--build-id=none",
      "-Wl,-z,norelro", "-Wl,-z,noexecstack", "-Wl,-n", "-s"],
    allowedUndefined: [],
  },
  {
    out: "libuevent.so",
    src: "uevent.c",
    // An ordinary libc-linked library (it runs in its own thread of the agent, never in a vfork child).
    args: ["-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-Wl,--build-id=none", "-Wl,-z,noexecstack",
      "-Wl,-z,now"],
    allowedUndefined: ["socket", "setsockopt", "bind", "close", "recvfrom", "write", "poll", "malloc", "free",
      "pthread_create", "pthread_attr_init", "pthread_attr_destroy", "pthread_attr_setdetachstate",
      "pthread_attr_setstacksize", "pthread_sigmask", "sigfillset", "__errno_location", "memset",
      "__cxa_finalize", "_ITM_deregisterTMCloneTable", "_ITM_registerTMCloneTable", "__gmon_start__"],
  },
];

function mtime(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

function run(cmd: string[]): string {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${p.exitCode}):\n${p.stderr.toString()}`);
  return p.stdout.toString();
}

/** Undefined dynamic symbols of a shared object (empty for a static binary). */
export function undefinedSymbols(path: string): string[] {
  const p = Bun.spawnSync(["nm", "-D", path], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) return []; // static binary: "no symbols"
  return p.stdout.toString().split("\n").map((l) => l.trim()).filter((l) => l.startsWith("U "))
    .map((l) => l.slice(2).replace(/@.*$/, "")); // drop the symbol version (clone@GLIBC_2.2.5)
}

function buildOne(t: Target): void {
  const out = join(nativeDir, t.out);
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    run(["gcc", ...t.args, "-o", tmp, join(srcDir, t.src)]);
    const unexpected = undefinedSymbols(tmp).filter((s) => !t.allowedUndefined.includes(s));
    if (unexpected.length > 0) throw new Error(`${t.out}: unexpected undefined symbols: ${unexpected.join(", ")}`);
    renameSync(tmp, out); // atomic: a concurrent loader never sees a half-written file
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Builds every native output that is missing or older than its source (or this script). */
export async function ensureNative(opts: { force?: boolean } = {}): Promise<void> {
  mkdirSync(nativeDir, { recursive: true });
  const self = mtime(import.meta.path);
  for (const t of targets) {
    const out = join(nativeDir, t.out);
    if (opts.force || mtime(out) < Math.max(mtime(join(srcDir, t.src)), self)) buildOne(t);
  }
}

if (import.meta.main) {
  await ensureNative({ force: true });
  for (const t of targets) {
    const out = join(nativeDir, t.out);
    console.log(`${out}: ${statSync(out).size} bytes, undefined: ${undefinedSymbols(out).join(" ") || "none"}`);
  }
}
