// bpf(2) for cgroup v2 device filters: load a BPF_PROG_TYPE_CGROUP_DEVICE program, attach it to
// (and detach it from) a cgroup directory. The program itself is built in src/cgroups.
import { ptr } from "bun:ffi";
import { SysError } from "./errno.ts";
import { C, cstr, errno } from "./libc.ts";
import {
  BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_PROG_ATTACH, BPF_PROG_DETACH, BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE,
  O_CLOEXEC, O_DIRECTORY, O_RDONLY, SYS_bpf,
} from "./consts.ts";

/** sizeof(union bpf_attr) we pass: zero-filled past the fields we set. */
const ATTR_SIZE = 128;

function bpf(cmd: number, attr: ArrayBuffer, what: string): number {
  const r = C.syscall(SYS_bpf, cmd, ptr(new Uint8Array(attr)), ATTR_SIZE, 0, 0);
  if (r < 0) throw new SysError(what, errno());
  return r;
}

/** Loads the program; returns its fd (the caller closes it once it is attached or unneeded). */
export function loadDeviceProgram(insns: Uint8Array): number {
  const code = new Uint8Array(new ArrayBuffer(insns.length));
  code.set(insns);
  const license = cstr("Apache-2.0");
  const attr = new ArrayBuffer(ATTR_SIZE);
  const v = new DataView(attr);
  v.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true);
  v.setUint32(4, insns.length / 8, true);
  v.setBigUint64(8, BigInt(ptr(code)), true);
  v.setBigUint64(16, BigInt(ptr(license)), true);
  const fd = bpf(BPF_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD, cgroup device program)");
  void code; void license; // kept alive until here
  return fd;
}

function cgroupFd(dir: string): number {
  const fd = C.open(cstr(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) throw new SysError(`open(${dir})`, errno());
  return fd;
}

function attachAttr(target: number, prog: number): ArrayBuffer {
  const attr = new ArrayBuffer(ATTR_SIZE);
  const v = new DataView(attr);
  v.setUint32(0, target, true);
  v.setUint32(4, prog, true);
  v.setUint32(8, BPF_CGROUP_DEVICE, true);
  // Several programs may sit on one cgroup (and its ancestors'): all must allow.
  v.setUint32(12, BPF_F_ALLOW_MULTI, true);
  return attr;
}

export function attachDeviceProgram(dir: string, prog: number): void {
  const fd = cgroupFd(dir);
  try {
    bpf(BPF_PROG_ATTACH, attachAttr(fd, prog), `bpf(BPF_PROG_ATTACH, ${dir})`);
  } finally {
    C.close(fd);
  }
}

export function detachDeviceProgram(dir: string, prog: number): void {
  const fd = cgroupFd(dir);
  try {
    bpf(BPF_PROG_DETACH, attachAttr(fd, prog), `bpf(BPF_PROG_DETACH, ${dir})`);
  } finally {
    C.close(fd);
  }
}
