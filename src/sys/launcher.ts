// The TypeScript side of process creation. Bun cannot fork, so src/sys/native/launch/ (a .so
// embedded in the agent binary) does it: the LaunchPlan goes over as one flat buffer
// (launch-encode.ts), a CLONE_VM|CLONE_VFORK child carries it out, and failures come back as
// {step, index, errno} (launch-error.ts).
//
//   createInit  CreateContainer: the init is fully set up and then blocked in the gate
//               (src/sys/native/gate.c, run from a sealed memfd) until startInit.
//   startInit   StartContainer: one byte on the start pipe; the gate execs the workload.
//   abortInit   remove a never-started container.
//   spawn       ExecProcess and OCI hooks: the workload is exec'd right away.
//
// Every pid created here is tracked by the reaper (reaper.ts), which delivers exits via onExit().
import { FFIType } from "bun:ffi";
import { dlopenEmbedded } from "./embedded-lib.ts";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import soPath from "../../build/native/liblaunch.so" with { type: "file" };
import gatePath from "../../build/native/kata-gate" with { type: "file" };
import { C, check, cstr, errno, ptr } from "./libc.ts";
import { SysError, errnoName } from "./errno.ts";
import type { LaunchPlan } from "./launch-plan.ts";
import { encodePlan } from "./launch-encode.ts";
import { LaunchError, STEP_EXEC, launchFailure } from "./launch-error.ts";
import { closeFd, pipe, setNonBlocking, writeAll } from "./pipe.ts";
import { onExit, track } from "./reaper.ts";
import { readToEnd } from "./readiness.ts";
import { F_ADD_SEALS, O_CLOEXEC, O_PATH, SIGKILL } from "./consts.ts";

export { LaunchError } from "./launch-error.ts";

/** A container init that is set up and blocked in the gate. */
export interface Created {
  pid: number;
  /** Write end of the start pipe (one byte releases the gate; closing it aborts). -1 once used. */
  startFd: number;
  /** Read end of the status pipe (EOF = the workload was exec'd). -1 once used. */
  statusFd: number;
  /** For error messages from the gate. */
  exe: string;
}

const KL_VERSION = 1;
const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const MFD_EXEC = 0x10;
const SEALS = 1 | 2 | 4 | 8; // F_SEAL_SEAL | SHRINK | GROW | WRITE
const EINVAL = 22;
const EACCES = 13;
const EINTR = 4;
const RECORD_BYTES = 12; // {u32 step, i32 index, u32 errno}

function memfd(name: string, flags: number): number {
  return C.memfd_create(cstr(name), flags);
}

/** The launcher .so (embedded, dlopen'ed from a memfd). */
function loadLibrary() {
  const lib = dlopenEmbedded(soPath, "liblaunch.so", {
    kl_version: { args: [], returns: FFIType.i32 },
    kl_launch: { args: [FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  });
  const v = lib.symbols.kl_version();
  if (v !== KL_VERSION) throw new Error(`liblaunch.so has version ${v}, expected ${KL_VERSION}: rebuild it`);
  return lib.symbols;
}

/** The gate in a sealed, executable memfd, kept open for the agent's lifetime. Sealing matters:
 *  a blocked init's /proc/PID/exe IS this file, so an unsealed one could be rewritten from inside
 *  a container and run by every later container (the runc CVE-2019-5736 pattern). */
function loadGate(): number {
  const bytes = readFileSync(gatePath);
  let fd = memfd("kata-gate", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno() === EINVAL) fd = memfd("kata-gate", MFD_CLOEXEC | MFD_ALLOW_SEALING); // kernel < 6.3
  if (fd >= 0) {
    try {
      writeAll(fd, bytes);
      check("fcntl(F_ADD_SEALS)", C.fcntl(fd, F_ADD_SEALS, SEALS));
      return fd;
    } catch (e) {
      C.close(fd);
      throw e;
    }
  }
  if (errno() !== EACCES) throw new SysError("memfd_create(kata-gate)", errno());
  // vm.memfd_noexec=2 forbids executable memfds: a root-owned 0555 file, opened O_PATH (enough
  // for execveat) and unlinked at once, so nothing can open it for writing later.
  for (const dir of ["/run", tmpdir()]) {
    const path = `${dir}/.kata-gate-${process.pid}`;
    try {
      writeFileSync(path, bytes, { mode: 0o555, flag: "wx" });
    } catch {
      continue;
    }
    try {
      return check(`open(${path})`, C.open(cstr(path), O_PATH | O_CLOEXEC, 0));
    } finally {
      rmSync(path, { force: true });
    }
  }
  throw new Error("cannot store the gate program: no executable memfd and no writable /run or TMPDIR");
}

let lib: ReturnType<typeof loadLibrary> | undefined;
let gateFd = -1;
const out = new Int32Array(new ArrayBuffer(16)); // {pid, step, index, errno}
const record = new Uint8Array(new ArrayBuffer(RECORD_BYTES));

function launch(plan: LaunchPlan, buf: Uint8Array): number {
  lib ??= loadLibrary();
  const pid = lib.kl_launch(ptr(buf), buf.length, ptr(out));
  if (pid < 0) throw launchFailure(plan, out[1]!, out[2]!, out[3]!);
  track(pid);
  return pid;
}

/** Blocking read of one status record; returns the bytes read (fewer at EOF). Only used for the
 *  gate's "ready" record, which the gate writes right after its exec. */
function readRecord(fd: number): number {
  let got = 0;
  while (got < RECORD_BYTES) {
    const n = C.read(fd, ptr(record, got), RECORD_BYTES - got);
    if (n === 0) break;
    if (n < 0) {
      if (errno() === EINTR) continue;
      throw new SysError("read(status pipe)", errno());
    }
    got += n;
  }
  return got;
}

function decodeRecord(bytes: Uint8Array): [number, number, number] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, RECORD_BYTES);
  return [v.getUint32(0, true), v.getInt32(4, true), v.getUint32(8, true)];
}

/** CreateContainer: returns once the init is fully set up and blocked in the gate. */
export function createInit(plan: LaunchPlan): Created {
  if (gateFd < 0) gateFd = loadGate();
  const [startR, startW] = pipe();
  let statusR = -1;
  let statusW = -1;
  let pid = -1;
  try {
    [statusR, statusW] = pipe();
    const buf = encodePlan(plan, { kind: "create", gateFd, startFd: startR, statusFd: statusW });
    try {
      pid = launch(plan, buf);
    } finally {
      closeFd(startR); // only the gate holds these now, so its death shows as EOF/EPIPE
      closeFd(statusW);
      statusW = -1;
    }
    const got = readRecord(statusR);
    const [step, , err] = decodeRecord(record);
    if (got === RECORD_BYTES && step === 0) return { pid, startFd: startW, statusFd: statusR, exe: plan.exe };
    throw new LaunchError("gate-execve", 0, got === RECORD_BYTES ? err : 0,
      `gate ${got === RECORD_BYTES ? `reported step ${step}, errno ${err}` : "exited before it was ready"}`);
  } catch (e) {
    if (pid > 0) {
      C.kill(pid, SIGKILL); // a gate that misbehaved: do not leave it waiting
      void onExit(pid); // claim the status so the reaper does not keep it
    }
    C.close(startW);
    if (statusR >= 0) C.close(statusR);
    if (statusW >= 0) C.close(statusW);
    throw e;
  }
}

/** StartContainer: releases the gate; resolves once the workload was exec'd (status pipe EOF),
 *  rejects with LaunchError when the exec failed. Never blocks the event loop. */
export async function startInit(c: Created): Promise<void> {
  if (c.startFd < 0 || c.statusFd < 0) throw new LaunchError("start", 0, 0, `container init ${c.pid} was already started or aborted`);
  const one = new Uint8Array(new ArrayBuffer(1));
  const wrote = C.write(c.startFd, ptr(one), 1);
  const writeErr = wrote === 1 ? 0 : errno();
  closeFd(c.startFd);
  c.startFd = -1;
  const statusFd = c.statusFd;
  c.statusFd = -1;
  let status: Uint8Array;
  try {
    setNonBlocking(statusFd);
    status = await readToEnd(statusFd, RECORD_BYTES);
  } finally {
    closeFd(statusFd);
  }
  if (status.length >= RECORD_BYTES) {
    const [step, index, err] = decodeRecord(status);
    if (step === STEP_EXEC) throw new LaunchError("execve", index, err, `execve ${c.exe}: ${errnoName(err)}`);
    throw new LaunchError("start", index, err, `gate reported step ${step}, errno ${err}`);
  }
  if (writeErr) throw new LaunchError("start", 0, writeErr, `start container init ${c.pid}: ${errnoName(writeErr)} (the gate is gone)`);
}

/** Removes a never-started init: SIGKILL (it is pid 1 of its namespace, so SIGTERM would be
 *  ignored) and close its pipes. The reaper reports its exit through onExit(pid). */
export function abortInit(c: Created): void {
  if (C.kill(c.pid, SIGKILL) < 0 && errno() !== 3 /* ESRCH */) throw new SysError(`kill(${c.pid}, SIGKILL)`, errno());
  if (c.startFd >= 0) C.close(c.startFd);
  if (c.statusFd >= 0) C.close(c.statusFd);
  c.startFd = -1;
  c.statusFd = -1;
}

/** Starts a process right away (ExecProcess, OCI hooks): returns its pid, a direct child of the
 *  agent (also when it joined a pid namespace). Throws LaunchError naming the failed step. */
export function spawn(plan: LaunchPlan): number {
  return launch(plan, encodePlan(plan, { kind: "spawn" }));
}
