// planContainer / planExec on a temporary bundle (no root needed: planning only reads files).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capsToMask } from "../../src/container/caps.ts";
import { MS } from "../../src/container/mount-options.ts";
import { minimalSpec } from "../../src/ctl/oci-json.ts";
import type { ISpec } from "../../src/container/oci-types.ts";
import { planContainer, planExec, type ContainerPlanOptions } from "../../src/container/plan.ts";
import { validateSpec } from "../../src/container/spec-validate.ts";
import { SpecError } from "../../src/container/spec-error.ts";
import { thrownAs } from "../helpers/thrown.ts";

/** The planner takes validated specs only; validation errors come out here as they do in Container.create. */
const plan_ = (s: ISpec, o: ContainerPlanOptions) => planContainer(validateSpec(s), o);

let bundle: string;
let rootfs: string;

function file(path: string, text: string, mode = 0o644): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

beforeAll(() => {
  bundle = realpathSync(mkdtempSync(join(tmpdir(), "plan-container-")));
  rootfs = join(bundle, "rootfs");
  file(join(rootfs, "bin/busybox"), "\x7fELF", 0o755);
  symlinkSync("busybox", join(rootfs, "bin/sh"));
  file(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n");
  file(join(rootfs, "etc/group"), "root:x:0:\nweb:x:33:\nlog:x:4:web\n");
  symlinkSync("/run/resolv.conf", join(rootfs, "etc/resolv.conf"));
  symlinkSync("/../../../../../tmp", join(rootfs, "escape"));
  file(join(bundle, "hosts"), "127.0.0.1 localhost\n");
  mkdirSync(join(bundle, "data"));
});

afterAll(() => {
  rmSync(bundle, { recursive: true, force: true });
});

const opts = (extra: Partial<ContainerPlanOptions> = {}): ContainerPlanOptions => ({
  rootfsHostPath: rootfs,
  stdio: [10, 11, 12],
  cgroupProcsFds: [20, 21],
  cgroups: { version: 2 },
  ...extra,
});

const spec = (args = ["sh", "-c", "echo hi"]): ISpec => minimalSpec({ rootfs, args });

const specError = (f: () => unknown): SpecError => thrownAs(SpecError, f);

describe("planContainer for runc's default spec", () => {
  const plan = () => plan_(spec(), opts());

  test("namespaces: all new, in spec order", () => {
    expect(plan().namespaces).toEqual([{ kind: "pid" }, { kind: "net" }, { kind: "ipc" }, { kind: "uts" }, { kind: "mount" }]);
  });
  test("root", () => {
    const p = plan();
    expect(p.rootfs).toBe(rootfs);
    expect(p.rootReadonly).toBe(false);
    expect(p.rootPropagation).toBe(MS.SLAVE | MS.REC);
  });
  test("mounts in order, with flags and data", () => {
    const m = plan().mounts.map((s) => [s.target, s.fstype, s.source, s.flags, s.data, s.remountFlags]);
    expect(m).toEqual([
      ["/proc", "proc", "proc", 0, "", 0],
      ["/dev", "tmpfs", "tmpfs", MS.NOSUID | MS.STRICTATIME, "mode=755,size=65536k", 0],
      ["/dev/pts", "devpts", "devpts", MS.NOSUID | MS.NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5", 0],
      ["/dev/shm", "tmpfs", "shm", MS.NOSUID | MS.NOEXEC | MS.NODEV, "mode=1777,size=65536k", 0],
      ["/dev/mqueue", "mqueue", "mqueue", MS.NOSUID | MS.NOEXEC | MS.NODEV, "", 0],
      ["/sys", "sysfs", "sysfs", MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY, "", 0],
      ["/sys/fs/cgroup", "cgroup2", "cgroup", MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RELATIME | MS.RDONLY, "", 0],
    ]);
  });
  test("default devices and /dev symlinks", () => {
    const p = plan();
    expect(p.devices.map((d) => `${d.path} ${d.type} ${d.major}:${d.minor} ${d.mode.toString(8)}`)).toEqual([
      "/dev/null c 1:3 666", "/dev/zero c 1:5 666", "/dev/full c 1:7 666", "/dev/tty c 5:0 666",
      "/dev/urandom c 1:9 666", "/dev/random c 1:8 666",
    ]);
    expect(p.symlinks).toContainEqual(["/proc/self/fd", "/dev/fd"]);
    expect(p.symlinks).toContainEqual(["/proc/self/fd/0", "/dev/stdin"]);
    expect(p.symlinks).toContainEqual(["/proc/self/fd/2", "/dev/stderr"]);
    expect(p.symlinks).toContainEqual(["pts/ptmx", "/dev/ptmx"]);
  });
  test("masked and readonly paths, hostname", () => {
    const p = plan();
    expect(p.maskedPaths).toContain("/proc/kcore");
    expect(p.readonlyPaths).toContain("/proc/sys");
    expect(p.hostname).toBe("container");
  });
  test("process", () => {
    const p = plan();
    expect(p.exe).toBe("/bin/sh");
    expect(p.args).toEqual(["sh", "-c", "echo hi"]);
    expect(p.env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOME=/root"]);
    expect(p.cwd).toBe("/");
    expect([p.uid, p.gid, p.additionalGids]).toEqual([0, 0, []]);
    expect(p.rlimits).toEqual([{ resource: 7, soft: 1024n, hard: 1024n }]);
    expect(p.oomScoreAdj).toBe(0);
    expect(p.noNewPrivileges).toBe(true);
    expect(p.terminal).toBe(false);
    expect(p.umask).toBe(0o022);
    const three = capsToMask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], "x");
    expect(p.caps).toEqual({ bounding: three, effective: three, permitted: three, inheritable: 0n, ambient: 0n });
    expect(p.stdio).toEqual([10, 11, 12]);
    expect(p.cgroupProcsFds).toEqual([20, 21]);
  });
});

describe("planContainer options and spec variants", () => {
  test("shared sandbox pid namespace", () => {
    const p = plan_(spec(), opts({ sandboxPidnsPath: "/proc/77/ns/pid" }));
    expect(p.namespaces[0]).toEqual({ kind: "pid", path: "/proc/77/ns/pid" });
  });
  test("a pid namespace is added when the spec has none (Kata always gives one)", () => {
    const s = spec();
    s.Linux!.Namespaces = s.Linux!.Namespaces!.filter((n) => n.Type !== "pid");
    expect(plan_(s, opts()).namespaces.filter((n) => n.kind === "pid")).toEqual([{ kind: "pid" }]);
  });
  test("joined uts namespace: no hostname", () => {
    const p = plan_(spec(), opts({ sharedNamespacePaths: { uts: "/proc/1/ns/uts", ipc: "/proc/1/ns/ipc" } }));
    expect(p.namespaces).toContainEqual({ kind: "uts", path: "/proc/1/ns/uts" });
    expect(p.namespaces).toContainEqual({ kind: "ipc", path: "/proc/1/ns/ipc" });
    expect(p.hostname).toBeUndefined();
  });
  test("cgroup v1: tmpfs, per-hierarchy binds, read-only last", () => {
    const p = plan_(spec(), opts({
      cgroups: { version: 1, controllers: [
        { name: "memory", hostPath: "/sys/fs/cgroup/memory/c1" },
        { name: "cpu,cpuacct", hostPath: "/sys/fs/cgroup/cpu,cpuacct/c1" },
      ] },
    }));
    const cg = p.mounts.filter((m) => m.target.startsWith("/sys/fs/cgroup"));
    expect(cg.map((m) => [m.target, m.fstype, m.source])).toEqual([
      ["/sys/fs/cgroup", "tmpfs", "tmpfs"],
      ["/sys/fs/cgroup/memory", "bind", "/sys/fs/cgroup/memory/c1"],
      ["/sys/fs/cgroup/cpu,cpuacct", "bind", "/sys/fs/cgroup/cpu,cpuacct/c1"],
      ["/sys/fs/cgroup/cpu", "bind", "/sys/fs/cgroup/cpu,cpuacct/c1"],
      ["/sys/fs/cgroup/cpuacct", "bind", "/sys/fs/cgroup/cpu,cpuacct/c1"],
      ["/sys/fs/cgroup", "", "/sys/fs/cgroup"],
    ]);
    expect(cg[1]!.flags & (MS.BIND | MS.REC)).toBe(MS.BIND | MS.REC);
    expect(cg[1]!.remountFlags & (MS.REMOUNT | MS.RDONLY)).toBe(MS.REMOUNT | MS.RDONLY);
    expect(cg[5]!.flags & (MS.REMOUNT | MS.RDONLY)).toBe(MS.REMOUNT | MS.RDONLY);
  });
  test("bind mounts: relative source from the bundle, file targets, ro remount, propagation", () => {
    const s = spec();
    s.Mounts!.push(
      { destination: "/etc/hosts", source: "hosts", type: "bind", options: ["rbind", "ro", "rprivate"] },
      { destination: "/data", source: join(bundle, "data"), type: "none", options: ["bind"] },
    );
    const [hosts, data] = plan_(s, opts()).mounts.slice(-2);
    expect(hosts).toEqual({
      source: join(bundle, "hosts"), target: "/etc/hosts", fstype: "bind", flags: MS.BIND | MS.REC | MS.RDONLY, data: "",
      propagation: MS.PRIVATE | MS.REC, remountFlags: MS.BIND | MS.RDONLY | MS.REMOUNT, targetIsFile: true,
    });
    expect(data!.targetIsFile).toBe(false);
    expect(data!.remountFlags).toBe(0);
    expect(data!.source).toBe(join(bundle, "data"));
  });
  test("mount targets follow symlinks inside the rootfs only", () => {
    const s = spec();
    s.Mounts!.push(
      { destination: "/etc/resolv.conf", source: join(bundle, "hosts"), type: "bind", options: ["bind"] },
      { destination: "/escape/x", source: "tmpfs", type: "tmpfs", options: [] },
    );
    const m = plan_(s, opts()).mounts.slice(-2);
    expect(m.map((x) => x.target)).toEqual(["/run/resolv.conf", "/tmp/x"]);
  });
  test("missing bind source", () => {
    const s = spec();
    s.Mounts!.push({ destination: "/x", source: "no-such-dir", type: "bind", options: ["rbind"] });
    const e = specError(() => plan_(s, opts()));
    expect(e.field).toBe("Spec.Mounts[7].source");
    expect(e.message).toContain(join(bundle, "no-such-dir"));
  });
  test("/dev bound from the guest: no device nodes or symlinks", () => {
    const s = spec();
    s.Mounts = s.Mounts!.filter((m) => !m.destination!.startsWith("/dev"));
    s.Mounts.push({ destination: "/dev", source: join(bundle, "data"), type: "bind", options: ["rbind"] });
    const p = plan_(s, opts());
    expect(p.devices).toEqual([]);
    expect(p.symlinks).toEqual([]);
  });
  test("/dev is never mounted read-only", () => {
    const s = spec();
    s.Mounts![1]!.options!.push("ro");
    expect(plan_(s, opts()).mounts[1]!.flags & MS.RDONLY).toBe(0);
  });
  test("spec devices: added, override defaults, 'u' is a char device, mode 0 means 0666", () => {
    const s = spec();
    s.Linux!.Devices = [
      { Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: 0o20660, UID: 0, GID: 5 },
      { Path: "/dev/null", Type: "u", Major: 1, Minor: 3, FileMode: 0 },
    ];
    const d = plan_(s, opts()).devices;
    expect(d).toContainEqual({ path: "/dev/fuse", type: "c", major: 10, minor: 229, mode: 0o660, uid: 0, gid: 5 });
    expect(d.filter((x) => x.path === "/dev/null")).toEqual([{ path: "/dev/null", type: "c", major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 }]);
    expect(d.length).toBe(7);
  });
  test("user by name, env HOME kept when given, sysctls, oom, readonly root, propagation", () => {
    const s = spec(["/bin/busybox", "httpd"]);
    s.Process!.User = { Username: "web" };
    s.Process!.Env = ["HOME=/srv", "BROKEN", "A=b=c"];
    s.Process!.OOMScoreAdj = -500;
    s.Process!.Terminal = true;
    s.Root!.Readonly = true;
    s.Linux!.RootfsPropagation = "rshared";
    s.Linux!.Sysctl = { "net.ipv4.ping_group_range": "0 0" };
    const p = plan_(s, opts());
    expect([p.uid, p.gid, p.additionalGids]).toEqual([33, 33, [4]]);
    expect(p.env).toEqual(["HOME=/srv", "A=b=c"]);
    expect(p.oomScoreAdj).toBe(-500);
    expect(p.terminal).toBe(true);
    expect(p.rootReadonly).toBe(true);
    expect(p.rootPropagation).toBe(MS.SHARED | MS.REC);
    expect(p.sysctls).toEqual([["net.ipv4.ping_group_range", "0 0"]]);
    expect(p.exe).toBe("/bin/busybox");
  });
  test("no Capabilities: the process keeps the agent's (null)", () => {
    const s = spec();
    s.Process!.Capabilities = null;
    expect(plan_(s, opts()).caps).toBeNull();
  });
  test("bad command fails the plan (CreateContainer, not Start)", () => {
    const e = specError(() => plan_(spec(["nope"]), opts()));
    expect(e.field).toBe("Spec.Process.Args[0]");
    expect(e.message).toContain("not found in PATH");
  });
  test("validation runs first", () => {
    const s = spec();
    s.Root!.Path = "rootfs";
    expect(specError(() => plan_(s, opts())).field).toBe("Spec.Root.Path");
  });
  test("missing rootfs", () => {
    expect(specError(() => plan_(spec(), opts({ rootfsHostPath: join(bundle, "gone") }))).field).toBe("Spec.Root.Path");
  });
});

describe("planExec", () => {
  // A getter: rootfs is only known once beforeAll has run.
  const base = () => ({ initPid: 4321, rootfsHostPath: rootfs, stdio: [3, 4, 5] as [number, number, number], cgroupProcsFds: [9] });
  test("joins every container namespace through /proc/<init>/ns", () => {
    const p = planExec({ Args: ["sh"], Env: ["PATH=/bin"] }, { ...base(), namespaces: ["pid", "network", "ipc", "uts", "mount"] });
    expect(p.namespaces).toEqual([
      { kind: "pid", path: "/proc/4321/ns/pid" },
      { kind: "net", path: "/proc/4321/ns/net" },
      { kind: "ipc", path: "/proc/4321/ns/ipc" },
      { kind: "uts", path: "/proc/4321/ns/uts" },
      { kind: "mount", path: "/proc/4321/ns/mnt" },
    ]);
    expect(p.rootfs).toBeUndefined();
    expect([p.mounts, p.devices, p.symlinks, p.maskedPaths, p.sysctls]).toEqual([[], [], [], [], []]);
    expect(p.hostname).toBeUndefined();
    expect(p.exe).toBe("/bin/sh");
    expect(p.env).toEqual(["PATH=/bin", "HOME=/root"]);
    expect(p.stdio).toEqual([3, 4, 5]);
    expect(p.cgroupProcsFds).toEqual([9]);
    expect(p.oomScoreAdj).toBe(0);
  });
  test("inherits the container's capabilities when it has none", () => {
    const inherited = { Bounding: ["CAP_KILL"], Effective: ["CAP_KILL"], Permitted: ["CAP_KILL"] };
    const p = planExec({ Args: ["sh"] }, { ...base(), namespaces: ["pid"], containerCapabilities: inherited });
    expect(p.caps?.bounding).toBe(1n << 5n);
    const own = planExec({ Args: ["sh"], Capabilities: { Bounding: ["CAP_CHOWN"] } }, { ...base(), namespaces: ["pid"], containerCapabilities: inherited });
    expect(own.caps?.bounding).toBe(1n);
  });
  test("errors name Process fields", () => {
    expect(specError(() => planExec({ Args: ["nope"] }, { ...base(), namespaces: [] })).field).toBe("Process.Args[0]");
    expect(specError(() => planExec({ Args: [] }, { ...base(), namespaces: [] })).field).toBe("Process.Args");
    expect(specError(() => planExec({ Args: ["sh"] }, { ...base(), namespaces: ["galaxy"] })).field).toBe("Linux.Namespaces");
  });
});
