// Builds the native parts with the system C compiler into build/native/:
//   liblaunch.so  the container launcher (every .c under src/sys/native/launch/), dlopen'ed by
//                 src/sys/launcher.ts
//   kata-gate     the static start gate (src/sys/native/gate.c), exec'd from a sealed memfd
//   libuevent.so  the uevent reader thread (src/sys/native/uevent.c), dlopen'ed by src/sys/uevent-socket.ts
//   libreadiness.so  the epoll thread for container output fds (src/sys/native/readiness.c),
//                 dlopen'ed by src/sys/readiness.ts
// All of them get embedded in the compiled agent. `ensureNative()` rebuilds only what is older than any of
// its sources (every file under a directory target, headers included, and the directories
// themselves so that an added or removed file counts); the test preload and build.ts call it;
// `bun scripts/build-native.ts` forces a rebuild.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const srcDir = join(root, "src/sys/native");
export const nativeDir = join(root, "build/native");

interface Target {
  out: string;
  /** A .c file, or a directory: every .c under it is compiled (its headers are found relative). */
  src: string;
  args: string[];
  /** Undefined dynamic symbols the output may have (checked with nm -D). */
  allowedUndefined: string[];
  /** Defined dynamic symbols it must export, and nothing else (checked with nm -D). */
  exported: string[];
  /** Headers next to a single-file source that it includes (a change rebuilds it). */
  headers?: string[];
}

const targets: Target[] = [
  {
    out: "liblaunch.so",
    src: "launch",
    // No libc in the child: freestanding, no builtins (gcc would turn loops into memset/memcpy
    // calls), no stack protector (its canary lives in the parent thread's TLS). Hidden visibility:
    // calls between the files stay direct, and only the KL_EXPORT entry points leave the .so.
    args: ["-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-fPIC", "-shared", "-ffreestanding",
      "-fvisibility=hidden",
      "-fno-builtin", "-fno-tree-loop-distribute-patterns", "-fno-stack-protector", "-nostartfiles",
      "-Wl,--build-id=none", "-Wl,-z,noexecstack", "-Wl,-z,now"],
    allowedUndefined: ["clone", "__errno_location"],
    exported: ["kl_launch", "kl_version"],
  },
  {
    out: "kata-gate",
    src: "gate.c",
    // A few hundred bytes: static, no libc, no relocations, no writable data.
    args: ["-Os", "-Wall", "-Wextra", "-Werror", "-static", "-nostdlib", "-fno-stack-protector",
      "-fno-asynchronous-unwind-tables", "-fno-unwind-tables", "-fno-pie", "-no-pie", "-Wl,--build-id=none",
      "-Wl,-z,norelro", "-Wl,-z,noexecstack", "-Wl,-n", "-s"],
    allowedUndefined: [],
    exported: [],
  },
  {
    out: "libuevent.so",
    src: "uevent.c",
    headers: ["agent-thread.h"],
    // An ordinary libc-linked library (its code runs in its own thread of the agent, never in a
    // vfork child).
    args: ["-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-fvisibility=hidden", "-Wl,--build-id=none",
      "-Wl,-z,noexecstack", "-Wl,-z,now"],
    allowedUndefined: ["socket", "setsockopt", "bind", "close", "recvfrom", "write", "poll", "malloc", "free",
      "pthread_create", "pthread_attr_init", "pthread_attr_destroy", "pthread_attr_setdetachstate",
      "pthread_attr_setstacksize", "pthread_sigmask", "pthread_self", "pthread_setname_np", "sigfillset", "__errno_location", "memset",
      "__cxa_finalize", "_ITM_deregisterTMCloneTable", "_ITM_registerTMCloneTable", "__gmon_start__"],
    exported: ["ku_start", "ku_version"],
  },
  {
    out: "libreadiness.so",
    src: "readiness.c",
    headers: ["agent-thread.h"],
    // Like libuevent.so: libc-linked, its code runs only in its own thread (rd_ctl on Bun's).
    args: ["-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-fvisibility=hidden", "-Wl,--build-id=none",
      "-Wl,-z,noexecstack", "-Wl,-z,now"],
    allowedUndefined: ["epoll_create1", "epoll_ctl", "epoll_wait", "close", "write", "malloc", "free",
      "pthread_create", "pthread_attr_init", "pthread_attr_destroy", "pthread_attr_setdetachstate",
      "pthread_attr_setstacksize", "pthread_sigmask", "pthread_self", "pthread_setname_np", "sigfillset", "__errno_location",
      "__cxa_finalize", "_ITM_deregisterTMCloneTable", "_ITM_registerTMCloneTable", "__gmon_start__"],
    exported: ["rd_ctl", "rd_start", "rd_version"],
  },
];

function mtime(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

/** Every file under path (or path itself), directories included. */
function walk(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return [path, ...readdirSync(path).sort().flatMap((name) => walk(join(path, name)))];
}

function sources(t: Target): string[] {
  return walk(join(srcDir, t.src)).filter((p) => p.endsWith(".c"));
}

function newestInput(t: Target): number {
  const src = join(srcDir, t.src);
  const headers = (t.headers ?? []).map((h) => join(srcDir, h));
  return existsSync(src) ? Math.max(...walk(src).map(mtime), ...headers.map(mtime)) : Infinity; // missing: let gcc say so
}

function run(cmd: string[]): string {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${p.exitCode}):\n${p.stderr.toString()}`);
  return p.stdout.toString();
}

/** Dynamic symbols of a shared object as [type, name] (empty for a static binary). */
function dynamicSymbols(path: string): [string, string][] {
  const p = Bun.spawnSync(["nm", "-D", path], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) return []; // static binary: "no symbols"
  return p.stdout.toString().split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 2)
    .map((f) => [f[f.length - 2]!, f[f.length - 1]!.replace(/@.*$/, "")]); // drop the version (clone@GLIBC_2.2.5)
}

/** Undefined dynamic symbols of a shared object (empty for a static binary). */
export function undefinedSymbols(path: string): string[] {
  return dynamicSymbols(path).filter(([type]) => type === "U").map(([, name]) => name);
}

/** Functions and data a shared object exports. */
export function exportedSymbols(path: string): string[] {
  return dynamicSymbols(path).filter(([type]) => /^[TDBR]$/.test(type)).map(([, name]) => name).sort();
}

function buildOne(t: Target): void {
  const out = join(nativeDir, t.out);
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    run(["gcc", ...t.args, "-o", tmp, ...sources(t)]);
    const unexpected = undefinedSymbols(tmp).filter((s) => !t.allowedUndefined.includes(s));
    if (unexpected.length > 0) throw new Error(`${t.out}: unexpected undefined symbols: ${unexpected.join(", ")}`);
    const exported = exportedSymbols(tmp).join(" ");
    if (exported !== [...t.exported].sort().join(" ")) throw new Error(`${t.out}: exports [${exported}], expected [${t.exported.join(" ")}]`);
    renameSync(tmp, out); // atomic: a concurrent loader never sees a half-written file
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Builds every native output that is missing or older than any of its sources (or this script). */
export async function ensureNative(opts: { force?: boolean } = {}): Promise<void> {
  mkdirSync(nativeDir, { recursive: true });
  const self = mtime(import.meta.path);
  for (const t of targets) {
    const out = join(nativeDir, t.out);
    if (opts.force || mtime(out) < Math.max(newestInput(t), self)) buildOne(t);
  }
}

if (import.meta.main) {
  await ensureNative({ force: true });
  for (const t of targets) {
    const out = join(nativeDir, t.out);
    console.log(`${out}: ${statSync(out).size} bytes, undefined: ${undefinedSymbols(out).join(" ") || "none"}`);
  }
}
