// The v2 manager against this host's real cgroup2 mount (on the hybrid host: /sys/fs/cgroup/unified,
// whose only controller is hugetlb). Core v2 (cgroup.procs, cgroup.freeze, cgroup.events, cpu.stat)
// works without controllers, so create/join/freeze/stats/destroy are tested for real here; the full
// resource mapping is in test/unit/cgroups.test.ts and limits are exercised inside the VM.
// Root only; afterEach kills what it spawned and removes kata-agent-test-<pid>/, afterAll restores
// the root's cgroup.subtree_control.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, readdirSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { firstLine, go, procState, removeTree, Shells } from "./cgroups-procs.ts";
import { detectLayout } from "../../src/cgroups/detect.ts";
import { newManager, type CgroupManager } from "../../src/cgroups/manager.ts";
import { missing } from "../helpers/require.ts";

const v2Mount = detectLayout().v2?.mountPoint;
const usable = process.getuid?.() === 0 && v2Mount !== undefined;
const ROOT = v2Mount ?? "/nonexistent";
const PREFIX = `kata-agent-test-${process.pid}`;
const subtreeBefore = usable ? readFileSync(join(ROOT, "cgroup.subtree_control"), "utf8").trim().split(/\s+/).filter(Boolean) : [];
let seq = 0;
const shells = new Shells();

const at = (rel: string, file: string) => readFileSync(join(ROOT, rel, file), "utf8").trim();

afterEach(async () => {
  const thawAll = (d: string) => {
    if (!existsSync(d)) return;
    writeFileSync(join(d, "cgroup.freeze"), "0");
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) thawAll(join(d, e.name));
  };
  if (usable) thawAll(join(ROOT, PREFIX));
  await shells.killAll();
  if (usable) removeTree(join(ROOT, PREFIX));
});

afterAll(() => {
  if (!usable) return;
  const now = readFileSync(join(ROOT, "cgroup.subtree_control"), "utf8").trim().split(/\s+/).filter(Boolean);
  const added = now.filter((c) => !subtreeBefore.includes(c));
  if (added.length) writeFileSync(join(ROOT, "cgroup.subtree_control"), added.map((c) => "-" + c).join(" "));
});

describe.skipIf(missing({ "root with a cgroup2 mount": usable }))("cgroup v2 manager on this host's cgroup2 mount", () => {
  function manager(): { m: CgroupManager; rel: string } {
    const rel = `${PREFIX}/ctr-${++seq}`;
    return { m: newManager({ version: 2, cgroupsPath: "/" + rel, containerId: `ctr-${seq}`, root: ROOT }), rel };
  }

  test("the default root is the cgroup2 mount found in mountinfo", () => {
    const m = newManager({ version: 2, cgroupsPath: "", containerId: "abc" });
    expect(m.path).toBe("/abc");
    expect((m as unknown as { dir: string }).dir).toBe(join(ROOT, "abc"));
  });

  test("create enables the offered controllers down the path; hugetlb limits and stats are real", async () => {
    const offered = at("", "cgroup.controllers").split(/\s+/);
    const { m, rel } = manager();
    m.create();
    expect(existsSync(join(ROOT, rel))).toBe(true);
    const wantEnabled = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"].filter((c) => offered.includes(c));
    for (const dir of ["", PREFIX]) {
      const enabled = at(dir, "cgroup.subtree_control").split(/\s+/);
      for (const c of wantEnabled) expect(enabled).toContain(c);
    }
    if (offered.includes("hugetlb")) {
      m.apply({ HugepageLimits: [{ Pagesize: "2MB", Limit: 8 << 20 }] });
      expect(at(rel, "hugetlb.2MB.max")).toBe(String(8 << 20));
      expect(Object.keys(m.stats().hugetlb_stats)).toContain("2MB");
    }
    await m.destroy();
    expect(existsSync(join(ROOT, PREFIX))).toBe(false);
  });

  test("addProcess, pids, procsFds, freeze/thaw via cgroup.freeze, stats, destroy", async () => {
    const { m, rel } = manager();
    m.create();
    const burner = shells.spawn("read x; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo done; exec sleep 30");
    m.addProcess(burner.pid);
    expect(m.pids()).toEqual([burner.pid]);
    expect(readFileSync(`/proc/${burner.pid}/cgroup`, "utf8")).toContain(`0::/${rel}\n`);
    burner.stdin.write("go\n");
    burner.stdin.flush();
    expect(await firstLine(burner)).toBe("done");

    const other = shells.spawn("exec sleep 30");
    const fds = m.procsFds();
    try {
      expect(fds.length).toBe(1);
      const flags = parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fds[0]}`, "utf8"))![1]!, 8);
      expect(flags & 0o3).toBe(0o1);
      expect(flags & 0o2000000).toBe(0o2000000);
      writeSync(fds[0]!, String(other.pid));
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    expect(m.pids().sort()).toEqual([burner.pid, other.pid].sort());

    await m.freeze();
    expect(at(rel, "cgroup.events")).toContain("frozen 1");
    expect(procState(burner.pid)).toBe("S"); // v2-frozen tasks sleep in the signal-delivery path
    // wchan reads "0" while the task is briefly runnable (seen once in four full runs), so it is
    // read until it shows the freezer's trap, for up to a second.
    let wchan = "";
    for (let i = 0; i < 100 && !/do_freezer_trap|get_signal/.test(wchan); i++) {
      if (i > 0) await Bun.sleep(10);
      wchan = readFileSync(`/proc/${burner.pid}/wchan`, "utf8");
    }
    expect(wchan).toMatch(/do_freezer_trap|get_signal/);
    await m.thaw();
    expect(at(rel, "cgroup.events")).toContain("frozen 0");

    const s = m.stats();
    expect(s.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(0);
    expect(s.cpu_stats.cpu_usage.total_usage).toBeGreaterThanOrEqual(s.cpu_stats.cpu_usage.usage_in_usermode);
    expect(m.oomKilled()).toBe(0);

    await expect(m.destroy(100)).rejects.toThrow(/processes still inside/);
    for (const p of [burner, other]) {
      p.kill("SIGKILL");
      await p.exited;
    }
    await m.destroy();
    expect(existsSync(join(ROOT, PREFIX))).toBe(false);
  });

  test("a sub-cgroup the container made inside its own cgroup does not block destroy", async () => {
    const { m, rel } = manager();
    m.create();
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(ROOT, rel, "nested/deeper"), { recursive: true });
    await m.destroy();
    expect(existsSync(join(ROOT, PREFIX))).toBe(false);
  });
});
