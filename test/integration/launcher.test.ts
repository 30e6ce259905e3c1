// The launcher end to end, as root, with real namespaces, mounts and a busybox rootfs: every
// property of the plan is checked from inside the container (or from /proc while it waits in the
// gate). Skipped when not root.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInit, startInit, type Created } from "../../src/sys/launcher.ts";
import { exitCode, onExit } from "../../src/sys/reaper.ts";
import { closeFd, setNonBlocking } from "../../src/sys/pipe.ts";
import { openPty, setWinSize } from "../../src/sys/pty.ts";
import { C } from "../../src/sys/libc.ts";
import { TESTER_GID, TESTER_UID } from "../fixtures/busybox.ts";
import { missing } from "../helpers/require.ts";
import { isRoot, MS, CAP, capMask, work, rootfs, live, mount, standardMounts, DEFAULT_DEVICES, containerPlan, outputPipe, runInit, launchError, parseReport, useLauncherSuite } from "./launcher-harness.ts";

describe.skipIf(missing({ root: isRoot }))("launcher (root)", () => {
  useLauncherSuite();

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

});
