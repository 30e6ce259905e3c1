// The one dlopen of libc that the rest of src/sys builds on. Other files in src/sys add small,
// typed wrappers (sockets, pipes, mounts, ...) around these symbols; nothing outside src/sys
// imports bun:ffi.
//
// FFI rules (see docs/DESIGN.md): scratch memory is backed by `new ArrayBuffer(n)` (small typed
// arrays move), every buffer C reads is kept alive until the call returns, i64 returns are BigInt.
import { dlopen, FFIType, type Library, ptr, read } from "bun:ffi";
import { SysError } from "./errno.ts";

const { i32, i64, u32, u64, ptr: P, cstring } = FFIType;
// Sizes are passed as u64; results that always fit in 32 bits (byte counts of one read/write,
// fds, pids, -1) are declared i32 so they come back as plain numbers.

// What the standalone agent does until its first sandbox (reading the config, replacing a stale
// socket, the reaper, the first connections, the uevent listener) needs only CORE. Each symbol
// dlopen() binds is a TinyCC-compiled trampoline (34 symbols took 0.32 ms at start, 7 took 0.15 in
// a compiled probe; more under a guest's TCG), so the REST are bound together on first use.
const CORE = {
  __errno_location: { args: [], returns: P },
  close: { args: [i32], returns: i32 },
  read: { args: [i32, P, u64], returns: i32 },
  open: { args: [P, i32, u32], returns: i32 },
  statx: { args: [i32, P, i32, u32, P], returns: i32 },
  unlink: { args: [P], returns: i32 },
  // The uevent listener (started once the first answer is out): its library goes through a
  // memfd, its reader thread reports through a pipe.
  write: { args: [i32, P, u64], returns: i32 },
  memfd_create: { args: [P, u32], returns: i32 },
  pipe2: { args: [P, i32], returns: i32 },
  fcntl: { args: [i32, i32, i64], returns: i32 },
  // installReaper: become subreaper, reap what is already there.
  prctl: { args: [i32, u64, u64, u64, u64], returns: i32 },
  waitpid: { args: [i32, P, i32], returns: i32 },
  // The ttRPC server raises each connection's send buffer.
  getsockopt: { args: [i32, i32, i32, P, P], returns: i32 },
  setsockopt: { args: [i32, i32, i32, P, u32], returns: i32 },
} as const;

const REST = {
  ioctl: { args: [i32, u64, P], returns: i32 },
  dup: { args: [i32], returns: i32 },
  dup3: { args: [i32, i32, i32], returns: i32 },
  socket: { args: [i32, i32, i32], returns: i32 },
  bind: { args: [i32, P, u32], returns: i32 },
  listen: { args: [i32, i32], returns: i32 },
  connect: { args: [i32, P, u32], returns: i32 },
  sendto: { args: [i32, P, u64, i32, P, u32], returns: i32 },
  recv: { args: [i32, P, u64, i32], returns: i32 },
  kill: { args: [i32, i32], returns: i32 },
  mount: { args: [P, P, P, u64, P], returns: i32 },
  umount2: { args: [P, i32], returns: i32 },
  setsid: { args: [], returns: i32 },
  sethostname: { args: [P, u64], returns: i32 },
  openpty: { args: [P, P, P, P, P], returns: i32 },
  sync: { args: [], returns: FFIType.void },
  reboot: { args: [i32], returns: i32 },
  getpid: { args: [], returns: i32 },
  syscall: { args: [i64, i64, i64, i64, i64, i64], returns: i32 },
  strerror: { args: [i32], returns: cstring },
  poll: { args: [P, u64, i32], returns: i32 },
} as const;

type Symbols = Library<typeof CORE & typeof REST>["symbols"];

// As PID 1 the agent's init (mounts, hostname, sockets) uses REST at once, and a second dlopen
// costs more than the symbols it saves: under a guest's TCG the split made the first Check ~35 ms
// later (DAX boots, 4 each), so PID 1 binds everything in one go.
const eager = process.pid === 1;

/** libc's functions: the CORE ones bound at load, the REST bound on first use (PID 1: all at load). */
export const C = { ...dlopen("libc.so.6", eager ? { ...CORE, ...REST } : CORE).symbols } as Symbols;
let restBound = eager;
if (!eager) {
  for (const name of Object.keys(REST)) {
    Object.defineProperty(C, name, { configurable: true, enumerable: true, get: () => (bindRest(), C[name as keyof Symbols]) });
  }
}

function bindRest(): void {
  if (restBound) return;
  restBound = true;
  // Plain data properties from here on: later calls do not go through a getter.
  for (const [name, f] of Object.entries(dlopen("libc.so.6", REST).symbols)) Object.defineProperty(C, name, { value: f, enumerable: true });
}

/** Whether the REST symbols have been bound (test/unit/sys-file.test.ts checks the start-up path). */
export function libcRestBound(): boolean {
  return restBound;
}

export function errno(): number {
  return read.i32(C.__errno_location()!, 0);
}

const utf8 = new TextEncoder();

/** NUL-terminated C string (UTF-8). Keep the returned bytes referenced while C may read them.
 *  TextEncoder, not Buffer.from: the process's first Buffer.from(string) costs ~0.15 ms, and
 *  reading the config file is the first libc call with a path. */
export function cstr(s: string): Uint8Array {
  const bytes = new Uint8Array(new ArrayBuffer(s.length * 3 + 1));
  const { written } = utf8.encodeInto(s, bytes);
  bytes[written] = 0;
  return bytes.subarray(0, written + 1);
}

/** Throws SysError(call, errno) when a libc call returned a negative value; otherwise returns it. */
export function check<T extends number | bigint>(call: string, r: T): T {
  if (r < 0) throw new SysError(call, errno());
  return r;
}

/** Like check(), but retries on EINTR. */
export function retry<T extends number | bigint>(call: string, f: () => T): T {
  for (;;) {
    const r = f();
    if (r >= 0) return r;
    const e = errno();
    if (e !== 4) throw new SysError(call, e);
  }
}

export { ptr };
