// Serialises a LaunchPlan into the one flat buffer that src/sys/native/launch/plan.c parses (format
// in the comment at the top of plan.c). No pointers are built in JS: C reads only this buffer.
// Pure: no FFI, so the encoding and its validation are unit-testable without root.
import type { LaunchPlan, NamespaceKind } from "./launch-plan.ts";
import { LaunchError } from "./launch-error.ts";

const MAGIC = 0x4b4c5031;
const ABSENT = 0xffffffff;
const BIT_ROOT_READONLY = 1;
const BIT_TERMINAL = 2;
const BIT_NO_NEW_PRIVS = 4;
const BIT_CAPS = 8;
const BIT_OOM = 16;
const DEFAULT_UMASK = 0o022;

export const CLONE_FLAG: Record<NamespaceKind, number> = {
  mount: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  net: 0x40000000,
  cgroup: 0x02000000,
};
const DEVICE_TYPE = { c: 0o020000, b: 0o060000, p: 0o010000 } as const;

export type LaunchMode =
  | { kind: "create"; gateFd: number; startFd: number; statusFd: number }
  | { kind: "spawn" };

function invalid(msg: string): LaunchError {
  return new LaunchError("plan", 0, 22, `invalid launch plan: ${msg}`);
}

/** Little-endian writer that grows as needed. */
class Writer {
  private buf = new Uint8Array(new ArrayBuffer(4096));
  private view = new DataView(this.buf.buffer);
  private at = 0;
  private readonly text = new TextEncoder();

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = new Uint8Array(new ArrayBuffer(size));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.at, v >>> 0, true);
    this.at += 4;
  }
  i32(v: number): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw invalid(`${v} is not a 32-bit integer`);
    this.u32(v);
  }
  u64(v: bigint | number): void {
    // Flag words built with JS bit operators can be negative 32-bit numbers: keep their bits.
    const big = typeof v === "bigint" ? v : BigInt(v < 0 ? v >>> 0 : Math.trunc(v));
    this.room(8);
    this.view.setBigUint64(this.at, BigInt.asUintN(64, big), true);
    this.at += 8;
  }
  str(s: string | undefined, what: string): void {
    if (s === undefined) return this.u32(ABSENT);
    const bytes = this.text.encode(s);
    if (bytes.includes(0)) throw invalid(`${what} contains a NUL byte`);
    this.u32(bytes.length);
    this.room(bytes.length + 1);
    this.buf.set(bytes, this.at);
    this.buf[this.at + bytes.length] = 0;
    this.at += bytes.length + 1;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  list<T>(items: T[], each: (item: T, i: number) => void): void {
    this.u32(items.length);
    items.forEach(each);
  }
  /** The encoded bytes, in a buffer of their own (out-of-line ArrayBuffer: its address is stable). */
  finish(): Uint8Array {
    const out = new Uint8Array(new ArrayBuffer(this.at));
    out.set(this.buf.subarray(0, this.at));
    return out;
  }
}

/** "net.ipv4.ip_forward" or "net/ipv4/ip_forward" -> path below /proc/sys. */
export function sysctlPath(key: string): string {
  const path = key.includes("/") ? key.replace(/^\/+/, "") : key.replaceAll(".", "/");
  if (path === "" || path.split("/").some((c) => c === "" || c === "." || c === "..")) throw invalid(`bad sysctl key ${key}`);
  return path;
}

function absolute(path: string, what: string): string {
  if (!path.startsWith("/")) throw invalid(`${what} ${path} is not absolute`);
  return path;
}

export function encodePlan(plan: LaunchPlan, mode: LaunchMode): Uint8Array {
  const w = new Writer();
  let bits = 0;
  if (plan.rootReadonly) bits |= BIT_ROOT_READONLY;
  if (plan.terminal) bits |= BIT_TERMINAL;
  if (plan.noNewPrivileges) bits |= BIT_NO_NEW_PRIVS;
  if (plan.caps) bits |= BIT_CAPS;
  if (plan.oomScoreAdj !== undefined) bits |= BIT_OOM;
  for (const ns of plan.namespaces) {
    // A new user namespace needs its maps (written by the launcher from outside it).
    if (ns.kind === "user" && !ns.path && !plan.idMaps) throw invalid("a new user namespace needs uid and gid maps");
    if (!(ns.kind in CLONE_FLAG)) throw invalid(`unknown namespace ${ns.kind}`);
  }
  w.u32(MAGIC);
  w.u32(mode.kind === "create" ? 0 : 1);
  w.u32(bits);
  w.u32(plan.umask ?? DEFAULT_UMASK);
  w.u64(plan.rootPropagation);
  w.i32(plan.oomScoreAdj ?? 0);
  w.u32(plan.uid);
  w.u32(plan.gid);
  const caps = plan.caps;
  for (const set of [caps?.bounding, caps?.effective, caps?.permitted, caps?.inheritable, caps?.ambient]) w.u64(set ?? 0n);
  for (const fd of plan.stdio) w.i32(fd);
  if (mode.kind === "create") {
    w.i32(mode.gateFd);
    w.i32(mode.startFd);
    w.i32(mode.statusFd);
  } else {
    w.i32(-1);
    w.i32(-1);
    w.i32(-1);
  }
  w.str(plan.rootfs === undefined ? undefined : absolute(plan.rootfs, "rootfs"), "rootfs");
  w.str(plan.hostname, "hostname");
  w.str(absolute(plan.cwd, "cwd"), "cwd");
  w.str(absolute(plan.exe, "executable"), "exe");
  w.str(plan.rootfsParentPrivate === undefined ? undefined : absolute(plan.rootfsParentPrivate, "rootfs parent mount"), "rootfs parent mount");
  w.list(plan.namespaces, (ns) => {
    w.u32(CLONE_FLAG[ns.kind]);
    w.str(ns.path, "namespace path");
  });
  w.list(plan.cgroupProcsFds, (fd) => w.i32(fd));
  w.list(plan.additionalGids, (g) => w.u32(g));
  w.list(plan.rlimits, (r) => {
    w.u32(r.resource);
    w.u64(r.soft);
    w.u64(r.hard);
  });
  w.list(plan.mounts, (m) => {
    w.str(m.source, "mount source");
    w.str(absolute(m.target, "mount target"), "mount target");
    w.str(m.fstype, "mount type");
    w.str(m.data, "mount data");
    w.u64(m.flags);
    w.u64(m.propagation);
    w.u64(m.remountFlags);
    w.u32(m.targetIsFile ? 1 : 0);
  });
  w.list(plan.devices, (d) => {
    const type = DEVICE_TYPE[d.type];
    if (type === undefined) throw invalid(`device ${d.path} has unknown type ${d.type}`);
    w.str(absolute(d.path, "device"), "device path");
    w.u32(type | (d.mode & 0o7777));
    w.u32(d.major);
    w.u32(d.minor);
    w.u32(d.uid);
    w.u32(d.gid);
  });
  w.list(plan.symlinks, ([target, link]) => {
    w.str(target, "symlink target");
    w.str(absolute(link, "symlink"), "symlink path");
  });
  w.list(plan.maskedPaths, (p) => w.str(absolute(p, "masked path"), "masked path"));
  w.list(plan.readonlyPaths, (p) => w.str(absolute(p, "readonly path"), "readonly path"));
  w.list(plan.sysctls, ([key, value]) => {
    w.str(sysctlPath(key), "sysctl key");
    w.str(value, "sysctl value");
  });
  if (plan.args.length === 0) throw invalid("args is empty");
  w.list(plan.args, (a) => w.str(a, "argument"));
  w.list(plan.env, (e) => w.str(e, "environment variable"));
  const filter = plan.seccomp?.filter ?? new Uint8Array(0);
  if (filter.length % 8 !== 0 || filter.length / 8 > 4096) throw invalid(`seccomp filter of ${filter.length} bytes is not 1..4096 instructions`);
  w.u32(plan.seccomp?.flags ?? 0);
  w.u32(filter.length / 8);
  w.bytes(filter);
  w.str(plan.idMaps?.uid, "uid map");
  w.str(plan.idMaps?.gid, "gid map");
  return w.finish();
}
