// The TS half of the launcher contract that needs no root: plan validation and encoding, and the
// messages built from the C side's {step, index, errno} reports.
import { describe, expect, test } from "bun:test";
import { encodePlan, sysctlPath } from "../../src/sys/launch-encode.ts";
import { LaunchError, STEPS, launchFailure } from "../../src/sys/launch-error.ts";
import type { LaunchPlan } from "../../src/sys/launch-plan.ts";
import { ERRNO } from "../../src/sys/errno.ts";

function plan(over: Partial<LaunchPlan> = {}): LaunchPlan {
  return {
    namespaces: [{ kind: "pid" }, { kind: "net", path: "/proc/42/ns/net" }], rootfs: "/run/c/rootfs",
    rootReadonly: false, rootPropagation: 0,
    mounts: [{ source: "proc", target: "/proc", fstype: "proc", flags: 14, data: "", propagation: 0, remountFlags: 0, targetIsFile: false }],
    devices: [{ path: "/dev/null", type: "c", major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 }],
    symlinks: [["/proc/self/fd", "/dev/fd"]], maskedPaths: ["/proc/kcore"], readonlyPaths: ["/proc/sys"],
    hostname: "h", sysctls: [["net.ipv4.ip_forward", "1"]], rlimits: [{ resource: 7, soft: 1024n, hard: 2048n }],
    oomScoreAdj: -5, uid: 1000, gid: 1000, additionalGids: [1, 2], umask: 0o022, caps: null,
    noNewPrivileges: true, terminal: false, cwd: "/", exe: "/bin/sh", args: ["sh"], env: ["A=1"],
    stdio: [0, 1, 2], cgroupProcsFds: [7],
    ...over,
  };
}

function rejects(over: Partial<LaunchPlan>): string {
  try {
    encodePlan(plan(over), { kind: "spawn" });
  } catch (e) {
    expect(e).toBeInstanceOf(LaunchError);
    expect((e as LaunchError).step).toBe("plan");
    return (e as Error).message;
  }
  throw new Error("encodePlan accepted an invalid plan");
}

describe("encodePlan", () => {
  test("header: magic, mode, flag bits, umask, root propagation", () => {
    const create = encodePlan(plan({ terminal: true, rootReadonly: true }), { kind: "create", gateFd: 9, startFd: 10, statusFd: 11 });
    const v = new DataView(create.buffer, create.byteOffset, create.byteLength);
    expect(v.getUint32(0, true)).toBe(0x4b4c5031);
    expect(v.getUint32(4, true)).toBe(0); // create
    expect(v.getUint32(8, true)).toBe(1 | 2 | 4 | 16); // rootReadonly, terminal, noNewPrivs, oom present (no caps)
    expect(v.getUint32(12, true)).toBe(0o022);
    const spawn = encodePlan(plan({ caps: { bounding: 1n, effective: 1n, permitted: 1n, inheritable: 0n, ambient: 0n }, oomScoreAdj: undefined, noNewPrivileges: false }), { kind: "spawn" });
    const w = new DataView(spawn.buffer, spawn.byteOffset, spawn.byteLength);
    expect(w.getUint32(4, true)).toBe(1); // spawn
    expect(w.getUint32(8, true)).toBe(8); // caps present only
  });

  test("strings are length-prefixed and NUL-terminated, in plan order", () => {
    const maps = encodePlan(plan({ namespaces: [{ kind: "user" }], idMaps: { uid: "0 100000 65536\n", gid: "0 100000 65536\n" } }), { kind: "spawn" });
    expect(Buffer.from(maps).toString("latin1").endsWith("0 100000 65536\n\0")).toBe(true);
    const buf = encodePlan(plan({ exe: "/bin/xyz", args: ["first", "second"] }), { kind: "spawn" });
    const text = Buffer.from(buf).toString("latin1");
    const exe = text.indexOf("/bin/xyz\0");
    expect(exe).toBeGreaterThan(0);
    expect(new DataView(buf.buffer).getUint32(exe - 4, true)).toBe(8);
    expect(text.indexOf("first\0")).toBeLessThan(text.indexOf("second\0"));
    // env is the last list, then the seccomp section (flags and instruction count, none here),
    // then the absent uid and gid maps.
    expect(text.endsWith("A=1\0" + "\0".repeat(8) + "\xff".repeat(8))).toBe(true);
  });

  test("a seccomp filter comes after env: flags, instruction count, the instructions", () => {
    const filter = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const buf = encodePlan(plan({ seccomp: { filter, flags: 3 } }), { kind: "spawn" });
    const tail = Buffer.from(buf.subarray(buf.length - 32, buf.length - 8)); // before the two absent maps
    expect(tail.readUInt32LE(0)).toBe(3);
    expect(tail.readUInt32LE(4)).toBe(2);
    expect([...tail.subarray(8)]).toEqual([...filter]);
    expect(rejects({ seccomp: { filter: new Uint8Array(7), flags: 0 } })).toContain("seccomp filter of 7 bytes");
  });

  test("rlimits above 2^53 (RLIM_INFINITY) survive", () => {
    const inf = (1n << 64n) - 1n;
    const buf = encodePlan(plan({ rlimits: [{ resource: 7, soft: inf, hard: inf }] }), { kind: "spawn" });
    const text = Buffer.from(buf);
    expect(text.includes(Buffer.alloc(16, 0xff))).toBe(true);
  });

  test("invalid plans are refused before anything is cloned", () => {
    expect(rejects({ namespaces: [{ kind: "user" }] })).toBe("invalid launch plan: a new user namespace needs uid and gid maps");
    expect(rejects({ exe: "sh" })).toBe("invalid launch plan: executable sh is not absolute");
    expect(rejects({ cwd: "tmp" })).toBe("invalid launch plan: cwd tmp is not absolute");
    expect(rejects({ args: [] })).toBe("invalid launch plan: args is empty");
    expect(rejects({ env: ["A=\0"] })).toBe("invalid launch plan: environment variable contains a NUL byte");
    expect(rejects({ sysctls: [["../../etc/x", "1"]] })).toBe("invalid launch plan: bad sysctl key ../../etc/x");
    expect(rejects({ stdio: [0.5, 1, 2] })).toBe("invalid launch plan: 0.5 is not a 32-bit integer");
    expect(rejects({ devices: [{ path: "/dev/x", type: "z" as "c", major: 1, minor: 1, mode: 0o666, uid: 0, gid: 0 }] }))
      .toBe("invalid launch plan: device /dev/x has unknown type z");
  });
});

describe("sysctlPath", () => {
  test("dotted and slashed keys", () => {
    expect(sysctlPath("net.ipv4.ip_forward")).toBe("net/ipv4/ip_forward");
    expect(sysctlPath("net/ipv4/conf/eth0.100/forwarding")).toBe("net/ipv4/conf/eth0.100/forwarding");
    expect(sysctlPath("/kernel/msgmax")).toBe("kernel/msgmax");
  });
});

describe("launchFailure messages", () => {
  const p = plan();
  const msg = (step: string, index: number, errno: string) => launchFailure(p, STEPS.indexOf(step as never), index, ERRNO[errno]!).message;
  test("name the step, the object and errno", () => {
    expect(msg("mount", 0, "EPERM")).toBe("mount proc on /proc: EPERM");
    expect(msg("execve", 0, "ENOENT")).toBe("execve /bin/sh: ENOENT");
    expect(msg("setns", 1, "EINVAL")).toBe("setns /proc/42/ns/net: EINVAL");
    expect(msg("device", 0, "EPERM")).toBe("create device /dev/null: EPERM");
    expect(msg("symlink", 0, "EEXIST")).toBe("symlink /dev/fd -> /proc/self/fd: EEXIST");
    expect(msg("rlimit", 0, "EPERM")).toBe("setrlimit RLIMIT_NOFILE: EPERM");
    expect(msg("cgroup", 0, "EBUSY")).toBe("join cgroup (cgroup.procs fd 7): EBUSY");
    expect(msg("groups", 0, "EPERM")).toBe("setgroups [1,2]: EPERM");
    expect(msg("cap-ambient", -1, "EPERM")).toBe("clear ambient capabilities: EPERM");
  });
  test("errno 0 means the child died inside the step", () => {
    const e = launchFailure(p, STEPS.indexOf("pivot-root"), 0, 0);
    expect(e.message).toBe("pivot_root /run/c/rootfs: the process died during this step");
    expect(e.step).toBe("pivot-root");
    expect(e.code).toBe("");
  });
  test("step numbers match the C enum (launch/steps.h) and the gate's STEP_EXEC", async () => {
    // Every `ST_NAME = n` in the C enum lines up with STEPS[n].
    const c = await Bun.file(new URL("../../src/sys/native/launch/steps.h", import.meta.url)).text();
    const gate = await Bun.file(new URL("../../src/sys/native/gate.c", import.meta.url)).text();
    expect(Number(gate.match(/#define STEP_EXEC (\d+)/)?.[1])).toBe(STEPS.indexOf("execve"));
    const pairs = [...c.matchAll(/ST_([A-Z_]+) = (\d+)/g)].map((m) => [m[1]!.toLowerCase().replaceAll("_", "-"), Number(m[2])] as const);
    expect(pairs.length).toBe(STEPS.length);
    const cName = (s: string) => ({ exec: "execve", "gate-exec": "gate-execve" } as Record<string, string>)[s] ?? s;
    for (const [name, n] of pairs) expect(STEPS[n]).toBe(cName(name) as never);
  });
});
