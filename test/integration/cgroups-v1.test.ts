// The v1 manager against this host's real cgroup v1 controllers (/sys/fs/cgroup/<controller>).
// Root only. Every test works below /sys/fs/cgroup/*/kata-agent-test-<pid>/ and afterEach kills
// the processes it spawned and removes that subtree, even when the test failed.
import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, readdirSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { firstLine, go, procState, removeTree, Shells } from "./cgroups-procs.ts";
import { detectLayout } from "../../src/cgroups/detect.ts";
import { newManager, type CgroupManager } from "../../src/cgroups/manager.ts";
import { missing } from "../helpers/require.ts";

const ROOT = "/sys/fs/cgroup";
const layout = detectLayout();
const controllers = layout.v1.flatMap((m) => m.controllers).filter((c) => !c.startsWith("name="));
const usable = process.getuid?.() === 0 && ["cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices"].every((c) => controllers.includes(c));
const mounts = layout.v1.filter((m) => m.mountPoint.startsWith(ROOT + "/") && m.controllers.some((c) => !c.startsWith("name=")));

const PREFIX = `kata-agent-test-${process.pid}`;
let seq = 0;
const shells = new Shells();

const at = (controller: string, rel: string, file: string) => readFileSync(join(ROOT, controller, rel, file), "utf8").trim();

afterEach(async () => {
  // A frozen task cannot die: thaw whatever a failed test left frozen, then kill and reap.
  const freezer = join(ROOT, "freezer", PREFIX);
  const thawAll = (d: string) => {
    if (!existsSync(d)) return;
    writeFileSync(join(d, "freezer.state"), "THAWED");
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) thawAll(join(d, e.name));
  };
  thawAll(freezer);
  await shells.killAll();
  for (const m of mounts) removeTree(join(m.mountPoint, PREFIX));
});

describe.skipIf(missing({ "root with cgroup v1 controllers cpu, cpuacct, cpuset, memory, pids, freezer, devices": usable }))("cgroup v1 manager on this host", () => {
  function manager(): { m: CgroupManager; rel: string } {
    const rel = `${PREFIX}/ctr-${++seq}`;
    return { m: newManager({ version: 1, cgroupsPath: "/" + rel, containerId: `ctr-${seq}`, root: ROOT }), rel };
  }

  test("create makes every level in every hierarchy, copying cpuset at each level; destroy removes them all", async () => {
    const { m, rel } = manager();
    m.create();
    for (const mt of mounts) {
      expect(existsSync(join(mt.mountPoint, rel))).toBe(true);
    }
    const rootCpus = at("cpuset", "", "cpuset.cpus");
    expect(at("cpuset", PREFIX, "cpuset.cpus")).toBe(rootCpus);
    expect(at("cpuset", rel, "cpuset.cpus")).toBe(rootCpus);
    expect(at("cpuset", rel, "cpuset.mems")).toBe(at("cpuset", "", "cpuset.mems"));
    await m.destroy();
    for (const mt of mounts) {
      expect(existsSync(join(mt.mountPoint, rel))).toBe(false);
      expect(existsSync(join(mt.mountPoint, PREFIX))).toBe(false); // the parent we made goes too
    }
  });

  test("apply writes the limits the kernel then reports; update orders memory and memsw correctly", () => {
    const { m, rel } = manager();
    m.create();
    m.apply({
      Memory: { Limit: 64 << 20, Swap: 128 << 20, Reservation: 32 << 20 },
      CPU: { Shares: 512, Quota: 50000, Period: 100000, Cpus: "0", Mems: "0" },
      Pids: { Limit: 50 },
    });
    expect(at("memory", rel, "memory.limit_in_bytes")).toBe(String(64 << 20));
    expect(at("memory", rel, "memory.memsw.limit_in_bytes")).toBe(String(128 << 20));
    expect(at("memory", rel, "memory.soft_limit_in_bytes")).toBe(String(32 << 20));
    expect(at("cpu", rel, "cpu.shares")).toBe("512");
    expect(at("cpu", rel, "cpu.cfs_quota_us")).toBe("50000");
    expect(at("cpu", rel, "cpu.cfs_period_us")).toBe("100000");
    expect(at("cpuset", rel, "cpuset.cpus")).toBe("0");
    expect(at("pids", rel, "pids.max")).toBe("50");
    // Growing past the current memsw needs memsw first; the kernel refuses the other order.
    m.update({ Memory: { Limit: 256 << 20, Swap: 512 << 20 } });
    expect(at("memory", rel, "memory.limit_in_bytes")).toBe(String(256 << 20));
    expect(at("memory", rel, "memory.memsw.limit_in_bytes")).toBe(String(512 << 20));
    // Shrinking below the current limit needs the limit first.
    m.update({ Memory: { Limit: 32 << 20, Swap: 48 << 20 } });
    expect(at("memory", rel, "memory.limit_in_bytes")).toBe(String(32 << 20));
    expect(at("memory", rel, "memory.memsw.limit_in_bytes")).toBe(String(48 << 20));
    m.update({ Pids: { Limit: 0 } });
    expect(at("pids", rel, "pids.max")).toBe("max");
  });

  test("device whitelist: the kernel lists exactly the defaults plus the spec, and enforces it", async () => {
    const { m, rel } = manager();
    m.create();
    m.apply({ Devices: [{ Allow: false, Access: "rwm" }, { Allow: true, Type: "c", Major: 10, Minor: 229, Access: "rw" }] });
    const list = at("devices", rel, "devices.list").split("\n");
    expect(list).not.toContain("a *:* rwm");
    for (const rule of ["c 1:3 rwm", "c 1:7 rwm", "c 136:* rwm", "c *:* m", "b *:* m", "c 10:229 rw"]) expect(list).toContain(rule);
    expect(list.length).toBe(13);

    const p = shells.spawn(
      "read x; for d in /dev/full /dev/kmsg; do if head -c 0 $d 2>/dev/null; then echo $d:ok; else echo $d:denied; fi; done | tr '\\n' ' '; echo",
    );
    m.addProcess(p.pid);
    go(p);
    expect(await firstLine(p)).toBe("/dev/full:ok /dev/kmsg:denied");
  });

  test("addProcess, pids, procsFds, freeze/thaw, stats, and a busy destroy that fails clearly", async () => {
    const { m, rel } = manager();
    m.create();
    m.apply({ Pids: { Limit: 20 } });
    const burner = shells.spawn("read x; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo done; exec sleep 30");
    m.addProcess(burner.pid);
    expect(m.pids()).toEqual([burner.pid]);
    const cgroupLines = readFileSync(`/proc/${burner.pid}/cgroup`, "utf8");
    for (const c of ["memory", "cpu", "pids", "freezer", "devices", "cpuset"]) {
      expect(cgroupLines).toContain(`:${c}:/${rel}\n`);
    }
    go(burner);
    expect(await firstLine(burner)).toBe("done");

    // procsFds: one write-only, close-on-exec fd per hierarchy; a pid written there joins.
    const other = shells.spawn("exec sleep 30");
    const fds = m.procsFds();
    try {
      expect(fds.length).toBe(mounts.length);
      for (const fd of fds) {
        const flags = parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!, 8);
        expect(flags & 0o3).toBe(0o1); // O_WRONLY
        expect(flags & 0o2000000).toBe(0o2000000); // O_CLOEXEC
        writeSync(fd, String(other.pid));
      }
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    expect(m.pids().sort()).toEqual([burner.pid, other.pid].sort());

    await m.freeze();
    expect(at("freezer", rel, "freezer.state")).toBe("FROZEN");
    expect(procState(burner.pid)).toBe("D");
    expect(procState(other.pid)).toBe("D");
    await m.thaw();
    expect(at("freezer", rel, "freezer.state")).toBe("THAWED");
    expect(procState(burner.pid)).toBe("S");

    const s = m.stats();
    expect(s.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(0);
    expect(s.cpu_stats.cpu_usage.percpu_usage.reduce((a, b) => a + b, 0)).toBe(s.cpu_stats.cpu_usage.total_usage);
    expect(s.memory_stats.usage.usage).toBeGreaterThan(0);
    expect(s.memory_stats.usage.limit).toBeGreaterThan(0);
    expect(Object.keys(s.memory_stats.stats)).toContain("rss");
    expect(s.pids_stats).toEqual({ current: 2, limit: 20 });
    expect(m.oomKilled()).toBe(0);

    const started = Date.now();
    await expect(m.destroy(200)).rejects.toThrow(new RegExp(`processes still inside: .*${burner.pid}`));
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    for (const p of [burner, other]) {
      p.kill("SIGKILL");
      await p.exited;
    }
    await m.destroy();
    for (const mt of mounts) expect(existsSync(join(mt.mountPoint, PREFIX))).toBe(false);
  });

  test("the memory limit holds: an allocation beyond it is OOM-killed and counted", async () => {
    const { m } = manager();
    m.create();
    m.apply({ Memory: { Limit: 16 << 20, Swap: 16 << 20 } });
    // tail looks for the last 10 lines of an endless file with no newline: it only grows.
    const hog = shells.spawn("read x; exec tail /dev/zero");
    m.addProcess(hog.pid);
    go(hog);
    await hog.exited;
    expect(hog.signalCode).toBe("SIGKILL");
    expect(m.oomKilled()).toBe(1);
    // The peak reached the limit and not beyond (this kernel leaves failcnt at 0 on OOM).
    const mem = m.stats().memory_stats;
    expect(mem.usage.max_usage).toBe(16 << 20);
    expect(mem.usage.limit).toBe(16 << 20);
    await m.destroy();
  });
});
