// The launcher end to end, as root: how failures are reported, the exec gate (abort, closed
// start pipe), and joining a running container or a held pid namespace.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { abortInit, createInit, LaunchError, spawn, startInit, type Created } from "../../src/sys/launcher.ts";
import type { LaunchPlan } from "../../src/sys/launch-plan.ts";
import { exitCode, onExit } from "../../src/sys/reaper.ts";
import { closeFd } from "../../src/sys/pipe.ts";
import { C, cstr } from "../../src/sys/libc.ts";
import { TESTER_GID, TESTER_UID } from "../fixtures/busybox.ts";
import { missing } from "../helpers/require.ts";
import { isRoot, MS, work, rootfs, live, pids, mount, standardMounts, containerPlan, outputPipe, runInit, launchError, parseReport, children, useLauncherSuite } from "./launcher-harness.ts";

describe.skipIf(missing({ root: isRoot }))("launcher: failures, the gate, joining (root)", () => {
  useLauncherSuite();

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
    expect(launchError(() => createInit(containerPlan({ namespaces: [{ kind: "user" }] }))).message).toBe("invalid launch plan: a new user namespace needs uid and gid maps");
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
    // The launcher joins the pid namespace from the agent's thread around its clone: it must be
    // back to the agent's own afterwards, or later children would start inside the container.
    expect(readlinkSync("/proc/thread-self/ns/pid_for_children")).toBe(readlinkSync("/proc/thread-self/ns/pid"));
    abortInit(holder);
    expect((await onExit(holder.pid)).signal).toBe(9);
  });

  test("a pid namespace path that is not one fails at setns, and the agent's own stays in force", () => {
    const e = launchError(() => createInit(containerPlan({ rootfs: undefined, namespaces: [{ kind: "pid", path: "/proc/self/ns/net" }, { kind: "mount" }], mounts: [], devices: [], symlinks: [], args: ["true"] })));
    expect(e.step).toBe("setns");
    expect(e.errno).toBe(22); // EINVAL: the path is a network namespace
    expect(readlinkSync("/proc/thread-self/ns/pid_for_children")).toBe(readlinkSync("/proc/thread-self/ns/pid"));
  });
});
