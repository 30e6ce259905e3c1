// The launcher end to end, as root, with real namespaces, mounts and a busybox rootfs: every
// property of the plan is checked from inside the container (or from /proc while it waits in the
// gate). Skipped when not root.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, rmdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { abortInit, createInit, LaunchError, spawn, startInit, type Created } from "../../src/sys/launcher.ts";
import type { LaunchPlan, MountStep } from "../../src/sys/launch-plan.ts";
import { exitCode, installReaper, onExit, stopReaper, type ExitStatus } from "../../src/sys/reaper.ts";
import { closeFd, pipe, setNonBlocking } from "../../src/sys/pipe.ts";
import { openPty, setWinSize } from "../../src/sys/pty.ts";
import { C, cstr } from "../../src/sys/libc.ts";
import { makeBusyboxRootfs, TESTER_GID, TESTER_UID } from "../fixtures/busybox.ts";
import { missing } from "../helpers/require.ts";

const isRoot = process.getuid?.() === 0;
const MS = { RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, BIND: 4096, REC: 16384, PRIVATE: 1 << 18, STRICTATIME: 1 << 24 };
const CAP = { CHOWN: 0, KILL: 5, NET_BIND_SERVICE: 10 };
const capMask = (...caps: number[]) => caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);

let work = "";
let rootfs = "";
const live: Created[] = [];
const pids: number[] = [];

function mount(source: string, target: string, fstype: string, flags: number, data = "", extra: Partial<MountStep> = {}): MountStep {
  return { source, target, fstype, flags, data, propagation: 0, remountFlags: 0, targetIsFile: false, ...extra };
}

/** The mounts a typical OCI spec (and Kata's default) gives a container. */
function standardMounts(): MountStep[] {
  return [
    mount("proc", "/proc", "proc", MS.NOSUID | MS.NOEXEC | MS.NODEV),
    mount("tmpfs", "/dev", "tmpfs", MS.NOSUID | MS.STRICTATIME, "mode=755,size=65536k"),
    mount("devpts", "/dev/pts", "devpts", MS.NOSUID | MS.NOEXEC, "newinstance,ptmxmode=0666,mode=0620"),
    mount("shm", "/dev/shm", "tmpfs", MS.NOSUID | MS.NOEXEC | MS.NODEV, "mode=1777,size=65536k"),
    mount("mqueue", "/dev/mqueue", "mqueue", MS.NOSUID | MS.NOEXEC | MS.NODEV),
    mount("sysfs", "/sys", "sysfs", MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY),
  ];
}

const DEFAULT_DEVICES = ([["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9], ["tty", 5, 0]] as const)
  .map(([name, major, minor]) => ({ path: `/dev/${name}`, type: "c" as const, major, minor, mode: 0o666, uid: 0, gid: 0 }));

function containerPlan(over: Partial<LaunchPlan> = {}): LaunchPlan {
  return {
    namespaces: [{ kind: "pid" }, { kind: "mount" }, { kind: "uts" }, { kind: "ipc" }, { kind: "net" }],
    rootfs,
    rootReadonly: false,
    rootPropagation: MS.REC | MS.PRIVATE,
    mounts: standardMounts(),
    devices: DEFAULT_DEVICES,
    symlinks: [["/proc/self/fd", "/dev/fd"], ["/proc/self/fd/0", "/dev/stdin"], ["pts/ptmx", "/dev/ptmx"]],
    maskedPaths: [],
    readonlyPaths: [],
    sysctls: [],
    rlimits: [],
    uid: 0,
    gid: 0,
    additionalGids: [],
    caps: null,
    noNewPrivileges: false,
    terminal: false,
    cwd: "/",
    exe: "/bin/sh",
    args: ["sh", "-c", "true"],
    env: ["PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/root"],
    stdio: [-1, -1, -1],
    cgroupProcsFds: [],
    ...over,
  };
}

async function readAll(fd: number): Promise<string> {
  setNonBlocking(fd);
  try {
    return await new Response(Bun.file(fd).stream()).text();
  } finally {
    closeFd(fd);
  }
}

/** Devnull for stdin; stdout+stderr into one pipe. Returns the child's fds and the reader. */
function outputPipe(): { stdio: [number, number, number]; close: () => void; text: () => Promise<string> } {
  const [r, w] = pipe();
  const devnull = C.open(cstr("/dev/null"), 0x80000, 0);
  return { stdio: [devnull, w, w], close: () => { closeFd(w); closeFd(devnull); }, text: () => readAll(r) };
}

async function runInit(script: string, over: Partial<LaunchPlan> = {}): Promise<{ out: string; status: ExitStatus }> {
  const io = outputPipe();
  let c: Created;
  try {
    c = createInit(containerPlan({ args: ["sh", "-c", script], stdio: io.stdio, ...over }));
  } finally {
    io.close();
  }
  live.push(c);
  const text = io.text();
  await startInit(c);
  const status = await onExit(c.pid);
  return { out: await text, status };
}

function launchError(f: () => unknown): LaunchError {
  try {
    f();
  } catch (e) {
    if (e instanceof LaunchError) return e;
    throw e;
  }
  throw new Error("expected a LaunchError");
}

/** key=value lines of the workload's report. */
function parseReport(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

function children(): number[] {
  const mine = String(process.pid);
  const out: number[] = [];
  for (const e of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] === mine) out.push(Number(e));
    } catch {}
  }
  return out;
}

describe.skipIf(missing({ root: isRoot }))("launcher (root)", () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kl-launch-"));
    rootfs = await makeBusyboxRootfs(join(work, "rootfs")); // before the reaper: it uses Bun.spawnSync
    installReaper();
  });
  afterEach(async () => {
    for (const c of live.splice(0)) {
      if (c.startFd >= 0) abortInit(c);
      C.kill(c.pid, 9);
    }
    for (const pid of pids.splice(0)) C.kill(pid, 9);
  });
  afterAll(() => {
    stopReaper();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("create leaves the init blocked in the gate; start runs the workload; exit code arrives", async () => {
    const io = outputPipe();
    let c: Created;
    try {
      c = createInit(containerPlan({ args: ["sh", "-c", "echo started as $$; exit 7"], stdio: io.stdio }));
    } finally {
      io.close();
    }
    live.push(c);
    expect(readlinkSync(`/proc/${c.pid}/exe`)).toBe("/memfd:kata-gate (deleted)");
    const cmdline = readFileSync(`/proc/${c.pid}/cmdline`, "utf8").split("\0");
    expect(cmdline.slice(0, 3)).toEqual(["kata-gate", "/bin/sh", "sh"]);
    const text = io.text();
    await Bun.sleep(50);
    expect(readlinkSync(`/proc/${c.pid}/exe`)).toBe("/memfd:kata-gate (deleted)"); // still waiting
    // Already in its own namespaces while it waits.
    for (const ns of ["pid_for_children", "mnt", "uts", "ipc", "net"]) {
      expect(readlinkSync(`/proc/${c.pid}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
    }
    await startInit(c);
    const st = await onExit(c.pid);
    expect(exitCode(st)).toBe(7);
    expect(await text).toBe("started as 1\n");
    expect(c.startFd).toBe(-1);
    expect(c.statusFd).toBe(-1);
  });

  test("a busybox container gets namespaces, mounts, devices, masks, readonly paths, ids, caps, rlimits", async () => {
    const data = mkdtempSync(join(work, "data-"));
    const roData = mkdtempSync(join(work, "ro-data-"));
    chmodSync(data, 0o777);
    chmodSync(roData, 0o777);
    const hostFile = join(work, "hostfile");
    writeFileSync(hostFile, "hello-bind\n");
    const caps = capMask(CAP.CHOWN, CAP.KILL, CAP.NET_BIND_SERVICE);
    const agentOom = readFileSync("/proc/self/oom_score_adj", "utf8");
    const agentDumpable = C.prctl(3 /* PR_GET_DUMPABLE */, 0n, 0n, 0n, 0n);
    const script = [
      "echo pid=$$",
      "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status | sed -e 's/:[[:space:]]*/=/' -e 's/[[:space:]]*$//'",
      "echo hostname=$(hostname)",
      "echo devnull=$(ls -l /dev/null | cut -c1-10)/$(stat -c %t,%T /dev/null)",
      "echo devs=$(ls /dev | tr '\\n' ' ')",
      "echo fdlink=$(readlink /dev/fd)",
      "echo nofile=$(ulimit -n)",
      "echo oom=$(cat /proc/self/oom_score_adj)",
      "echo umask=$(umask)",
      "echo cwd=$(pwd)",
      "echo timerlist=$(wc -c < /proc/timer_list)", // 0400 root: readable only because /dev/null is over it
      "echo firmware=$(ls -A /sys/firmware | wc -l)",
      "echo procsys=$(grep ' /proc/sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1)",
      "echo sysfs=$(grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1)",
      "echo mounts=$(cut -d' ' -f2,3 /proc/mounts | grep -E '^/dev/(pts|mqueue|shm) ' | tr '\\n' ';')",
      "echo net=$(ls /sys/class/net | tr '\\n' ' ')",
      "echo ipc=$(cat /proc/sysvipc/shm | wc -l)",
      "touch /ro-data/x 2>/dev/null && echo rowrite=ok || echo rowrite=failed",
      "touch /data/x && echo write=ok",
      "echo bindfile=$(cat /etc/hostfile)",
      "echo ps=$(ps -o pid | tail -n +2 | tr -d ' ' | tr '\\n' ' ')",
    ].join("\n");
    const { out, status } = await runInit(script, {
      hostname: "kl-test",
      mounts: [
        ...standardMounts(),
        mount(data, "/data", "", MS.BIND | MS.REC),
        mount(roData, "/ro-data", "", MS.BIND | MS.REC, "", { remountFlags: MS.RDONLY }),
        mount(hostFile, "/etc/hostfile", "", MS.BIND, "", { targetIsFile: true }),
      ],
      maskedPaths: ["/proc/timer_list", "/sys/firmware", "/proc/kcore", "/proc/does-not-exist"], // missing ones are skipped
      readonlyPaths: ["/proc/sys", "/proc/sysrq-trigger", "/nope/missing"],
      rlimits: [{ resource: 7, soft: 1000n, hard: 1024n }],
      oomScoreAdj: 123,
      umask: 0o027,
      cwd: "/home/tester",
      uid: TESTER_UID,
      gid: TESTER_GID,
      additionalGids: [2000, 3000],
      caps: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps },
      noNewPrivileges: true,
    });
    const r = parseReport(out);
    expect(exitCode(status)).toBe(0);
    expect(r.get("pid")).toBe("1");
    expect(r.get("Uid")).toBe("1000\t1000\t1000\t1000");
    expect(r.get("Gid")).toBe("1000\t1000\t1000\t1000");
    expect(r.get("Groups")).toBe("2000 3000");
    for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) expect(r.get(set)).toBe("0000000000000421");
    expect(r.get("NoNewPrivs")).toBe("1");
    expect(r.get("hostname")).toBe("kl-test");
    expect(r.get("devnull")).toBe("crw-rw-rw-/1,3");
    expect(r.get("devs")!.split(" ")).toEqual(expect.arrayContaining(["null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "fd", "stdin", "ptmx"]));
    expect(r.get("fdlink")).toBe("/proc/self/fd");
    expect(r.get("nofile")).toBe("1000");
    expect(r.get("oom")).toBe("123");
    expect(r.get("umask")).toBe("0027");
    expect(r.get("cwd")).toBe("/home/tester");
    expect(r.get("timerlist")).toBe("0");
    expect(r.get("firmware")).toBe("0");
    expect(r.get("procsys")).toBe("ro");
    expect(r.get("sysfs")).toBe("ro");
    expect(r.get("mounts")).toBe("/dev/pts devpts;/dev/shm tmpfs;/dev/mqueue mqueue;");
    expect(r.get("net")).toBe("lo");
    expect(r.get("ipc")).toBe("1"); // only the header line: a fresh ipc namespace
    expect(r.get("rowrite")).toBe("failed");
    expect(r.get("write")).toBe("ok");
    expect(r.get("bindfile")).toBe("hello-bind");
    const nsPids = r.get("ps")!.trim().split(" ").map(Number);
    expect(nsPids[0]).toBe(1); // the pid namespace holds only this shell and its pipeline
    expect(Math.max(...nsPids)).toBeLessThan(100);
    expect(existsSync(join(data, "x"))).toBe(true);
    expect(statSync(join(data, "x")).uid).toBe(TESTER_UID);
    expect(existsSync(join(roData, "x"))).toBe(false);
    // The vfork child shared our memory: its uid change and oom_score_adj must not stick to us.
    expect(C.prctl(3, 0n, 0n, 0n, 0n)).toBe(agentDumpable);
    expect(readFileSync("/proc/self/oom_score_adj", "utf8")).toBe(agentOom);
    // The readonly remount and the new mounts stayed inside the container's mount namespace.
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(roData);
  });

  test("root container: readonly root, sysctls in its own net namespace, all capabilities kept when caps is null", async () => {
    const script = [
      "touch /rootfile 2>/dev/null && echo rootwrite=ok || echo rootwrite=failed",
      "echo tmpwrite=$(touch /tmp/x && echo ok)",
      "echo forward=$(cat /proc/sys/net/ipv4/ip_forward)",
      "echo pingrange=$(cat /proc/sys/net/ipv4/ping_group_range | tr '\\t' ' ')",
      "echo uid=$(id -u)",
    ].join("\n");
    const hostForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
    const { out, status } = await runInit(script, {
      rootReadonly: true,
      mounts: [...standardMounts(), mount("tmpfs", "/tmp", "tmpfs", MS.NOSUID | MS.NODEV)],
      sysctls: [["net.ipv4.ip_forward", hostForward === "1" ? "0" : "1"], ["net/ipv4/ping_group_range", "0 0"]],
    });
    const r = parseReport(out);
    expect(exitCode(status)).toBe(0);
    expect(r.get("rootwrite")).toBe("failed");
    expect(r.get("tmpwrite")).toBe("ok");
    expect(r.get("forward")).toBe(hostForward === "1" ? "0" : "1");
    expect(r.get("pingrange")).toBe("0 0");
    expect(r.get("uid")).toBe("0");
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe(hostForward); // host untouched
    expect(existsSync(join(rootfs, "rootfile"))).toBe(false);
  });

  test("mount targets and devices are created inside the rootfs even through symlinks that point out of it", async () => {
    const outside = join(work, "outside");
    mkdirSync(outside); // exists on the host...
    mkdirSync(join(rootfs, outside), { recursive: true }); // ...and, by the same path, inside the rootfs
    const link = join(rootfs, "escape");
    symlinkSync(outside, link); // absolute: must resolve as <rootfs>/<outside>, never the host's
    symlinkSync("/no/such/dir", join(rootfs, "dangling"));
    const devLink = join(rootfs, "devescape");
    symlinkSync("../../../../../../..", devLink);
    try {
      const { out, status } = await runInit("ls -d /escape/sub && echo ok; ls -l /devescape/zz | cut -c1", {
        mounts: [...standardMounts(), mount("tmpfs", "/escape/sub", "tmpfs", 0)],
        devices: [...DEFAULT_DEVICES, { path: "/devescape/zz", type: "c", major: 1, minor: 3, mode: 0o600, uid: 0, gid: 0 }],
      });
      expect(exitCode(status)).toBe(0);
      expect(out).toBe("/escape/sub\nok\nc\n");
      expect(readdirSync(outside)).toEqual([]); // nothing created on the host side
      expect(existsSync(join(rootfs, outside, "sub"))).toBe(true); // but inside the rootfs
      expect(existsSync(join(rootfs, "zz"))).toBe(true); // ".." stopped at the container's root
      // Nothing is created through a dangling symlink: that would follow it blindly.
      expect(launchError(() => createInit(containerPlan({ mounts: [mount("tmpfs", "/dangling/x", "tmpfs", 0)] }))).message)
        .toBe("create mount target /dangling/x: ENOENT");
    } finally {
      unlinkSync(join(rootfs, "dangling"));
      unlinkSync(link);
      unlinkSync(devLink);
      rmSync(join(rootfs, "zz"), { force: true });
      rmSync(join(rootfs, work), { recursive: true, force: true }); // <rootfs>/tmp/kl-launch-*/outside/sub
    }
  });

  test("a terminal: setsid + controlling tty on the pty slave, window size visible", async () => {
    const { master, slave } = openPty();
    setWinSize(master, 33, 111);
    let c: Created;
    try {
      c = createInit(containerPlan({ terminal: true, stdio: [slave, slave, slave], args: ["sh", "-c", "test -t 0 && echo tty=yes; stty size; echo sid=$(cut -d' ' -f6 /proc/self/stat)"] }));
    } finally {
      closeFd(slave);
    }
    live.push(c);
    setNonBlocking(master);
    const chunks: Uint8Array[] = [];
    const reading = (async () => {
      try {
        for await (const chunk of Bun.file(master).stream()) chunks.push(chunk);
      } catch {} // EIO once the slave is closed everywhere: that is EOF for a pty
    })();
    await startInit(c);
    expect(exitCode(await onExit(c.pid))).toBe(0);
    await reading;
    closeFd(master);
    const lines = Buffer.concat(chunks).toString().split("\r\n");
    expect(lines[0]).toBe("tty=yes");
    expect(lines[1]).toBe("33 111");
    expect(lines[2]).toBe("sid=1");
  });

  test("failures name the step, the object and errno", () => {
    const cases: [Partial<LaunchPlan>, string, string][] = [
      [{ exe: "/bin/nope" }, "execve", "execve /bin/nope: ENOENT"],
      [{ exe: "/etc" }, "execve", "execve /etc: EACCES"],
      [{ mounts: [...standardMounts(), mount("proc", "/etc/passwd/sub", "proc", 0)] }, "mount-target", "create mount target /etc/passwd/sub: ENOTDIR"],
      [{ mounts: [mount("none", "/mnt", "nosuchfs", 0)] }, "mount", "mount none on /mnt: ENODEV"],
      [{ mounts: [mount("/no/such/source", "/mnt", "", MS.BIND)] }, "mount", "mount /no/such/source on /mnt: ENOENT"],
      [{ namespaces: [{ kind: "mount" }, { kind: "net", path: "/proc/self/ns/uts" }] }, "setns", "setns /proc/self/ns/uts: EINVAL"],
      [{ namespaces: [{ kind: "mount" }, { kind: "ipc", path: "/run/no/such/ns" }] }, "setns", "setns /run/no/such/ns: ENOENT"],
      [{ cwd: "/nowhere" }, "cwd", "chdir /nowhere: ENOENT"],
      [{ sysctls: [["kernel.no_such_knob", "1"]] }, "sysctl", "sysctl kernel.no_such_knob=1: ENOENT"],
      [{ rlimits: [{ resource: 7, soft: 10n, hard: 5n }] }, "rlimit", "setrlimit RLIMIT_NOFILE: EINVAL"],
      [{ rootfs: join(work, "missing-rootfs") }, "rootfs-bind", `bind rootfs ${join(work, "missing-rootfs")}: ENOENT`],
      [{ stdio: [987, -1, -1] }, "stdio", "dup2 fd 987 to 0: EBADF"],
    ];
    const before = children().length;
    for (const [over, step, message] of cases) {
      const e = launchError(() => createInit(containerPlan(over)));
      expect({ step: e.step as string, message: e.message }).toEqual({ step, message });
    }
    // spawn reports the same way
    expect(launchError(() => spawn(containerPlan({ rootfs: undefined, namespaces: [], mounts: [], devices: [], symlinks: [], exe: "/bin/nope" }))).message)
      .toBe("execve /bin/nope: ENOENT");
    expect(launchError(() => createInit(containerPlan({ namespaces: [{ kind: "user" }] }))).message).toBe("invalid launch plan: user namespaces are not supported");
    // Failed children were reaped by the launcher itself: nothing is left behind.
    expect(children().length).toBe(before);
  });

  test("an executable that disappears before start fails startInit with the exec error", async () => {
    const victim = join(rootfs, "bin/victim");
    writeFileSync(victim, readFileSync(join(rootfs, "bin/busybox")));
    chmodSync(victim, 0o755);
    const c = createInit(containerPlan({ exe: "/bin/victim", args: ["true"] }));
    live.push(c);
    unlinkSync(victim);
    const e = await startInit(c).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(LaunchError);
    expect((e as LaunchError).message).toBe("execve /bin/victim: ENOENT");
    expect(exitCode(await onExit(c.pid))).toBe(127);
  });

  test("abortInit kills a blocked init (pid 1 of its namespace)", async () => {
    const c = createInit(containerPlan({ args: ["sh", "-c", "exit 0"] }));
    live.push(c);
    abortInit(c);
    const st = await onExit(c.pid);
    expect(st.signal).toBe(9);
    expect(c.startFd).toBe(-1);
    await expect(startInit(c)).rejects.toThrow("already started or aborted");
  });

  test("closing the start pipe makes the gate exit 125 without running the workload", async () => {
    const marker = join(rootfs, "tmp/ran");
    const c = createInit(containerPlan({ args: ["sh", "-c", "touch /tmp/ran"] }));
    live.push(c);
    closeFd(c.startFd);
    c.startFd = -1;
    expect(exitCode(await onExit(c.pid))).toBe(125);
    expect(existsSync(marker)).toBe(false);
  });

  test("spawn joins a running container: same pid namespace (sees its init as pid 1), filesystem, hostname, cgroup", async () => {
    const cg = `/sys/fs/cgroup/pids/kl-test-${process.pid}`;
    mkdirSync(cg);
    const procs = () => C.open(cstr(`${cg}/cgroup.procs`), 0x1 | 0x80000, 0);
    let init: Created | undefined;
    try {
      const fd = procs();
      const c = createInit(containerPlan({ hostname: "joined", args: ["sleep", "1000"], cgroupProcsFds: [fd] }));
      init = c;
      closeFd(fd);
      live.push(c);
      expect(readFileSync(`/proc/${c.pid}/cgroup`, "utf8")).toContain(`:pids:/kl-test-${process.pid}\n`);
      await startInit(c);
      writeFileSync(join(rootfs, "tmp/marker"), "m");
      const ns = (["pid", "mount", "uts", "ipc", "net"] as const).map((kind) => ({ kind, path: `/proc/${c.pid}/ns/${kind === "mount" ? "mnt" : kind}` }));
      const io = outputPipe();
      const fd2 = procs();
      let pid: number;
      try {
        pid = spawn(containerPlan({
          rootfs: undefined, namespaces: ns, mounts: [], devices: [], symlinks: [], cgroupProcsFds: [fd2],
          uid: TESTER_UID, gid: TESTER_GID, stdio: io.stdio,
          args: ["sh", "-c", "echo init=$(tr '\\0' ' ' < /proc/1/cmdline); echo host=$(hostname); echo marker=$(cat /tmp/marker); echo me=$$; echo uid=$(id -u); echo cg=$(grep pids /proc/self/cgroup)"],
        }));
      } finally {
        io.close();
        closeFd(fd2);
      }
      pids.push(pid);
      const out = await io.text();
      expect(exitCode(await onExit(pid))).toBe(0); // reaped by us: a direct child of the agent
      const r = parseReport(out);
      expect(r.get("init")).toBe("sleep 1000");
      expect(r.get("host")).toBe("joined");
      expect(r.get("marker")).toBe("m");
      expect(Number(r.get("me"))).toBeGreaterThan(1);
      expect(Number(r.get("me"))).toBeLessThan(100); // a pid of the container's namespace, not ours
      expect(pid).not.toBe(Number(r.get("me")));
      expect(r.get("uid")).toBe(String(TESTER_UID));
      expect(r.get("cg")).toContain(`pids:/kl-test-${process.pid}`);
    } finally {
      if (init) {
        C.kill(init.pid, 9);
        await onExit(init.pid);
      }
      for (let i = 0; i < 50 && existsSync(cg); i++) {
        try {
          rmdirSync(cg);
        } catch {
          await Bun.sleep(20); // the killed init may still be leaving the cgroup
        }
      }
    }
  });

  test("createInit can join a pid namespace held by another init (sandbox_pidns)", async () => {
    const holder = createInit(containerPlan({ rootfs: undefined, namespaces: [{ kind: "pid" }], mounts: [], devices: [], symlinks: [], args: ["sleep", "1"] }));
    live.push(holder);
    const { out, status } = await runInit("echo me=$$; echo one=$(tr '\\0' ' ' < /proc/1/cmdline)", {
      namespaces: [{ kind: "pid", path: `/proc/${holder.pid}/ns/pid` }, { kind: "mount" }, { kind: "uts" }],
    });
    const r = parseReport(out);
    expect(exitCode(status)).toBe(0);
    expect(Number(r.get("me"))).toBeGreaterThan(1);
    expect(r.get("one")).toStartWith("kata-gate /bin/sh sleep 1"); // the holder, still in its gate
    abortInit(holder);
    expect((await onExit(holder.pid)).signal).toBe(9);
  });
});
