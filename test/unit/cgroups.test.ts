// Unit tests for src/cgroups: mount detection, cgroupsPath handling, v1/v2 conversions, device
// rules, stat parsers, and the resource → file mapping of both managers against a temporary
// directory tree shaped like cgroupfs (the `root` option). Real cgroups: test/integration/cgroups-*.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseVersion, parseCgroupMounts, type CgroupLayout } from "../../src/cgroups/detect.ts";
import { initialDeviceWrites, isAllDevicesRule, specDeviceWrites } from "../../src/cgroups/devices.ts";
import { newManager } from "../../src/cgroups/manager.ts";
import { resolveCgroupPath } from "../../src/cgroups/path.ts";
import type { Resources } from "../../src/cgroups/resources.ts";
import { parseBlkioOps, parseFlatKeyed, parseIoStat, parseNumberList, parseUint, type CgroupStats } from "../../src/cgroups/stats.ts";
import { blkioWeightToIoWeight, cpuMax, sharesToWeight, swapToV2 } from "../../src/cgroups/v2.ts";
import type { grpc } from "../../src/gen/index.ts";

// Compile-time: generated protobuf objects fit our input type, and our stats fit the generated one.
const _resourcesFit = (r: grpc.ILinuxResources): Resources => r;
const _statsFit = (s: CgroupStats): grpc.ICgroupStats => s;
void _resourcesFit;
void _statsFit;

const HYBRID = `
25 1 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

const PURE_V2 = `
24 1 0:22 / /sys rw - sysfs sysfs rw
30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

const V1_COMOUNTED = `
31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset,clone_children
90 1 0:31 / /mnt/my\\040cpuset rw - cgroup cgroup rw,cpuset,clone_children
`;

describe("detect", () => {
  test("hybrid layout: v1 controllers plus the unified mount", () => {
    const l = parseCgroupMounts(HYBRID);
    expect(l.kind).toBe("hybrid");
    expect(l.v2?.mountPoint).toBe("/sys/fs/cgroup/unified");
    expect(l.v1.map((m) => m.controllers.join(","))).toEqual(["cpu", "cpuacct", "memory", "name=systemd"]);
  });

  test("pure v2 and pure v1 with co-mounted controllers and a duplicate bind mount", () => {
    expect(parseCgroupMounts(PURE_V2)).toEqual({ kind: "v2", v1: [], v2: { mountPoint: "/sys/fs/cgroup", fsRoot: "/", controllers: [] } });
    const l = parseCgroupMounts(V1_COMOUNTED);
    expect(l.kind).toBe("v1");
    expect(l.v2).toBeUndefined();
    expect(l.v1).toEqual([
      { mountPoint: "/sys/fs/cgroup/cpu,cpuacct", fsRoot: "/", controllers: ["cpu", "cpuacct"] },
      { mountPoint: "/sys/fs/cgroup/cpuset", fsRoot: "/", controllers: ["cpuset"] },
    ]);
    // The escaped duplicate alone is still found (and unescaped).
    const only = parseCgroupMounts("90 1 0:31 / /mnt/my\\040cpuset rw - cgroup cgroup rw,cpuset\n");
    expect(only.v1[0]!.mountPoint).toBe("/mnt/my cpuset");
  });

  test("a named-only v1 hierarchy does not make a layout hybrid", () => {
    const l = parseCgroupMounts(PURE_V2 + "40 31 0:37 / /run/systemd-v1 rw - cgroup cgroup rw,name=systemd\n");
    expect(l.kind).toBe("v2");
  });

  test("chooseVersion: what is mounted wins, config decides hybrid and nothing", () => {
    const v1 = parseCgroupMounts(V1_COMOUNTED);
    const v2 = parseCgroupMounts(PURE_V2);
    const hybrid = parseCgroupMounts(HYBRID);
    const none = parseCgroupMounts("");
    expect([chooseVersion(true, v1), chooseVersion(false, v1)]).toEqual([1, 1]);
    expect([chooseVersion(true, v2), chooseVersion(false, v2)]).toEqual([2, 2]);
    expect([chooseVersion(true, hybrid), chooseVersion(false, hybrid)]).toEqual([2, 1]);
    expect([chooseVersion(true, none), chooseVersion(false, none)]).toEqual([2, 1]);
  });
});

describe("cgroupsPath", () => {
  test.each([
    ["", "abc", "abc"],
    ["/kubepods/pod1/abc", "x", "kubepods/pod1/abc"],
    ["kubepods/abc", "x", "kubepods/abc"],
    ["system.slice:kata_agent:abc", "x", "system.slice/kata_agent/abc"],
    ["kubepods-besteffort-pod1.slice:cri-containerd:abc", "x", "kubepods-besteffort-pod1.slice/cri-containerd/abc"],
    ["::", "ctr1", "ctr1"],
    ["//a/./b//", "x", "a/b"],
  ])("%p for %p → %p", (path, id, want) => {
    expect(resolveCgroupPath(path, id)).toBe(want);
  });

  test("never escapes or becomes the root", () => {
    expect(() => resolveCgroupPath("/a/../../etc", "x")).toThrow(/\.\./);
    expect(() => resolveCgroupPath("", "")).toThrow(/container id/);
    expect(() => resolveCgroupPath("/", "..")).toThrow(/container id/);
  });
});

describe("v2 conversions (runc's formulas)", () => {
  test("cpu shares → cpu.weight", () => {
    expect([sharesToWeight(0), sharesToWeight(2), sharesToWeight(1024), sharesToWeight(262144)]).toEqual([0, 1, 39, 10000]);
  });
  test("blkio weight → io.weight", () => {
    expect([blkioWeightToIoWeight(0), blkioWeightToIoWeight(10), blkioWeightToIoWeight(500), blkioWeightToIoWeight(1000)]).toEqual([0, 1, 4950, 10000]);
  });
  test("cpu.max", () => {
    expect(cpuMax(0, 0)).toBeUndefined();
    expect(cpuMax(50000, 100000)).toBe("50000 100000");
    expect(cpuMax(-1, 100000)).toBe("max 100000");
    expect(cpuMax(0, 20000)).toBe("max 20000");
    expect(cpuMax(30000, 0)).toBe("30000");
  });
  test("memory+swap → swap.max", () => {
    expect(swapToV2(0, 0)).toBe(0);
    expect(swapToV2(0, -1)).toBe(-1);
    expect(swapToV2(-1, 100)).toBe(-1);
    expect(swapToV2(300, 100)).toBe(200);
    expect(swapToV2(100, 100)).toBe(0);
    expect(() => swapToV2(300, 0)).toThrow(/without a memory limit/);
    expect(() => swapToV2(50, 100)).toThrow(/>= memory limit/);
  });
});

describe("v1 device rules", () => {
  test("create() denies all, then allows Kata's defaults", () => {
    const w = initialDeviceWrites();
    expect(w[0]).toEqual({ file: "devices.deny", rule: "a" });
    const allowed = w.slice(1).map((x) => `${x.file}:${x.rule}`);
    expect(allowed).toEqual([
      "devices.allow:c 1:3 rwm", "devices.allow:c 1:5 rwm", "devices.allow:c 1:7 rwm", "devices.allow:c 5:0 rwm",
      "devices.allow:c 1:9 rwm", "devices.allow:c 1:8 rwm", "devices.allow:c *:* m", "devices.allow:b *:* m",
      "devices.allow:c 5:1 rwm", "devices.allow:c 136:* rwm", "devices.allow:c 5:2 rwm", "devices.allow:c 10:200 rwm",
    ]);
  });

  test("a typical spec: deny-all rule skipped, the rest in order, wildcards as *", () => {
    const w = specDeviceWrites([
      { Allow: false, Access: "rwm" },
      { Allow: true, Type: "c", Major: 1, Minor: 3, Access: "rwm" },
      { Allow: false, Type: "b", Major: 8, Minor: -1, Access: "w" },
      { Allow: true, Type: "c", Major: 10, Minor: 229, Access: "" },
    ]);
    expect(w).toEqual([
      { file: "devices.allow", rule: "c 1:3 rwm" },
      { file: "devices.deny", rule: "b 8:* w" },
      { file: "devices.allow", rule: "c 10:229 rwm" },
    ]);
  });

  test("an allow-all rule allows every char and block device; partial 'a' rules are dropped", () => {
    expect(isAllDevicesRule({ Allow: true, Type: "a", Major: -1, Minor: -1, Access: "rwm" })).toBe(true);
    expect(isAllDevicesRule({ Allow: true, Type: "a", Access: "rw" })).toBe(false);
    const w = specDeviceWrites([{ Allow: true, Type: "a", Access: "rwm" }, { Allow: false, Type: "a", Access: "m" }]);
    expect(w).toEqual([{ file: "devices.allow", rule: "c *:* rwm" }, { file: "devices.allow", rule: "b *:* rwm" }]);
  });
});

describe("stat parsers", () => {
  test("flat keyed, numbers, max", () => {
    expect(parseFlatKeyed("cache 4096\nrss 8192\nbad x\n\nhierarchical_memory_limit 9223372036854771712\n")).toEqual({
      cache: 4096, rss: 8192, hierarchical_memory_limit: 9223372036854771712,
    });
    expect(parseNumberList("10 20 30 \n")).toEqual([10, 20, 30]);
    expect([parseUint("max"), parseUint(" 42\n"), parseUint(undefined), parseUint("-3")]).toEqual([0, 42, 0, 0]);
  });

  test("blkio per-op and io.stat", () => {
    expect(parseBlkioOps("8:0 Read 1282048\n8:0 Write 2195456\nTotal 3477504\n")).toEqual([
      { major: 8, minor: 0, op: "read", value: 1282048 },
      { major: 8, minor: 0, op: "write", value: 2195456 },
    ]);
    expect(parseIoStat("253:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n").map((e) => `${e.op}=${e.value}`)).toEqual([
      "read=10", "write=20", "rios=1", "wios=2", "dbytes=0", "dios=0",
    ]);
  });
});

// ---- fake cgroupfs trees ----------------------------------------------------------------------

let tmp: string | undefined;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** Creates `dir` with the given files (content ""), like cgroupfs populates a new cgroup. */
function fakeCgroup(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}

const read = (...p: string[]) => readFileSync(join(...p), "utf8");
const NO_MOUNTS: CgroupLayout = { kind: "none", v1: [] };

const FULL: Resources = {
  Devices: [{ Allow: false, Access: "rwm" }, { Allow: true, Type: "c", Major: 10, Minor: 200, Access: "rwm" }],
  Memory: { Limit: 256 << 20, Reservation: 128 << 20, Swap: 512 << 20, Kernel: 0, KernelTCP: 64 << 20, Swappiness: 30, DisableOOMKiller: true },
  CPU: { Shares: 1024, Quota: 50000, Period: 100000, RealtimeRuntime: 9000, RealtimePeriod: 10000, Cpus: "0-1", Mems: "0" },
  Pids: { Limit: 100 },
  BlockIO: {
    Weight: 500,
    LeafWeight: 0,
    WeightDevice: [{ Major: 8, Minor: 0, Weight: 300 }],
    ThrottleReadBpsDevice: [{ Major: 8, Minor: 0, Rate: 1048576 }],
    ThrottleWriteBpsDevice: [{ Major: 8, Minor: 16, Rate: 2097152 }],
    ThrottleReadIOPSDevice: [{ Major: 8, Minor: 0, Rate: 100 }],
    ThrottleWriteIOPSDevice: [{ Major: 8, Minor: 0, Rate: 0 }],
  },
  HugepageLimits: [{ Pagesize: "2MB", Limit: 8 << 20 }, { Pagesize: "64KB", Limit: 1 }],
  Network: { ClassID: 0x100001, Priorities: [{ Name: "eth0", Priority: 5 }] },
};

describe("v1 manager on a fake tree", () => {
  function v1Tree(): string {
    tmp = mkdtempSync(join(tmpdir(), "cg1-"));
    const leaf = "pod/ctr";
    const hier: Record<string, Record<string, string>> = {
      "cpu,cpuacct": { "cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1", "cpu.rt_period_us": "", "cpu.rt_runtime_us": "" },
      cpuset: { "cpuset.cpus": "", "cpuset.mems": "" },
      memory: {
        "memory.limit_in_bytes": "9223372036854771712", "memory.memsw.limit_in_bytes": "", "memory.soft_limit_in_bytes": "",
        "memory.kmem.tcp.limit_in_bytes": "", "memory.swappiness": "60", "memory.oom_control": "",
      },
      pids: { "pids.max": "" },
      blkio: {
        "blkio.bfq.weight": "", "blkio.bfq.weight_device": "", "blkio.throttle.read_bps_device": "",
        "blkio.throttle.write_bps_device": "", "blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
      },
      hugetlb: { "hugetlb.2MB.limit_in_bytes": "" },
      "net_cls,net_prio": { "net_cls.classid": "", "net_prio.ifpriomap": "" },
      devices: { "devices.allow": "", "devices.deny": "" },
    };
    for (const [h, files] of Object.entries(hier)) fakeCgroup(join(tmp, h, leaf), { ...files, "cgroup.procs": "" });
    return tmp;
  }

  test("every resource lands in its v1 file", () => {
    const root = v1Tree();
    const m = newManager({ version: 1, cgroupsPath: "/pod/ctr", containerId: "ctr", root, layout: NO_MOUNTS });
    expect(m.path).toBe("/pod/ctr");
    m.apply(FULL);
    const at = (h: string, f: string) => read(root, h, "pod/ctr", f);
    expect(at("cpu,cpuacct", "cpu.shares")).toBe("1024");
    expect(at("cpu,cpuacct", "cpu.cfs_quota_us")).toBe("50000");
    expect(at("cpu,cpuacct", "cpu.cfs_period_us")).toBe("100000");
    expect(at("cpu,cpuacct", "cpu.rt_period_us")).toBe("10000");
    expect(at("cpu,cpuacct", "cpu.rt_runtime_us")).toBe("9000");
    expect(at("cpuset", "cpuset.cpus")).toBe("0-1");
    expect(at("cpuset", "cpuset.mems")).toBe("0");
    expect(at("memory", "memory.limit_in_bytes")).toBe(String(256 << 20));
    expect(at("memory", "memory.memsw.limit_in_bytes")).toBe(String(512 << 20)); // memory+swap as is on v1
    expect(at("memory", "memory.soft_limit_in_bytes")).toBe(String(128 << 20));
    expect(at("memory", "memory.kmem.tcp.limit_in_bytes")).toBe(String(64 << 20));
    expect(at("memory", "memory.swappiness")).toBe("30");
    expect(at("memory", "memory.oom_control")).toBe("1");
    expect(at("pids", "pids.max")).toBe("100");
    expect(at("blkio", "blkio.bfq.weight")).toBe("500");
    expect(at("blkio", "blkio.bfq.weight_device")).toBe("8:0 300");
    expect(at("blkio", "blkio.throttle.read_bps_device")).toBe("8:0 1048576");
    expect(at("blkio", "blkio.throttle.write_bps_device")).toBe("8:16 2097152");
    expect(at("blkio", "blkio.throttle.read_iops_device")).toBe("8:0 100");
    expect(at("blkio", "blkio.throttle.write_iops_device")).toBe("8:0 0");
    expect(at("hugetlb", "hugetlb.2MB.limit_in_bytes")).toBe(String(8 << 20));
    expect(at("net_cls,net_prio", "net_cls.classid")).toBe(String(0x100001));
    expect(at("net_cls,net_prio", "net_prio.ifpriomap")).toBe("eth0 5");
    expect(at("devices", "devices.allow")).toBe("c 10:200 rwm"); // last of the spec's rules
  });

  test("zeros are not written; Pids present with no limit means max; bad swappiness is refused", () => {
    const root = v1Tree();
    const m = newManager({ version: 1, cgroupsPath: "", containerId: "x", root, layout: NO_MOUNTS });
    expect(m.path).toBe("/x");
    const m2 = newManager({ version: 1, cgroupsPath: "pod:ctr", containerId: "x", root, layout: NO_MOUNTS });
    m2.apply({ CPU: { Shares: 0, Quota: 0 }, Memory: { Limit: 0 }, Pids: { Limit: 0 } });
    expect(read(root, "cpu,cpuacct/pod/ctr/cpu.shares")).toBe("1024");
    expect(read(root, "memory/pod/ctr/memory.limit_in_bytes")).toBe("9223372036854771712");
    expect(read(root, "pids/pod/ctr/pids.max")).toBe("max");
    expect(() => m2.update({ Memory: { Swappiness: 101 } })).toThrow(/swappiness/);
  });

  test("stats come from the v1 files", () => {
    const root = v1Tree();
    const leaf = (h: string) => join(root, h, "pod/ctr");
    fakeCgroup(leaf("cpu,cpuacct"), {
      "cpuacct.usage": "5000000000", "cpuacct.usage_percpu": "3000000000 2000000000 ", "cpuacct.stat": "user 300\nsystem 150\n",
      "cpu.stat": "nr_periods 10\nnr_throttled 4\nthrottled_time 123456\n",
    });
    fakeCgroup(leaf("memory"), {
      "memory.stat": "cache 4096\nrss 8192\n", "memory.usage_in_bytes": "12288", "memory.max_usage_in_bytes": "20480",
      "memory.failcnt": "2", "memory.limit_in_bytes": "1048576", "memory.memsw.usage_in_bytes": "12288",
      "memory.memsw.max_usage_in_bytes": "20480", "memory.memsw.failcnt": "0", "memory.memsw.limit_in_bytes": "2097152",
      "memory.use_hierarchy": "1", "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    });
    fakeCgroup(leaf("pids"), { "pids.current": "7", "pids.max": "max" });
    fakeCgroup(leaf("blkio"), { "blkio.throttle.io_service_bytes_recursive": "8:0 Read 100\n8:0 Write 200\nTotal 300\n" });
    fakeCgroup(leaf("hugetlb"), { "hugetlb.2MB.usage_in_bytes": "2097152", "hugetlb.2MB.max_usage_in_bytes": "4194304", "hugetlb.2MB.failcnt": "1" });
    const m = newManager({ version: 1, cgroupsPath: "pod/ctr", containerId: "ctr", root, layout: NO_MOUNTS });
    const s = m.stats();
    expect(s.cpu_stats.cpu_usage).toEqual({
      total_usage: 5e9, percpu_usage: [3e9, 2e9], usage_in_usermode: 3e9, usage_in_kernelmode: 1.5e9,
    });
    expect(s.cpu_stats.throttling_data).toEqual({ periods: 10, throttled_periods: 4, throttled_time: 123456 });
    expect(s.memory_stats.cache).toBe(4096);
    expect(s.memory_stats.usage).toEqual({ usage: 12288, max_usage: 20480, failcnt: 2, limit: 1048576 });
    expect(s.memory_stats.swap_usage.limit).toBe(2097152);
    expect(s.memory_stats.use_hierarchy).toBe(true);
    expect(s.memory_stats.stats).toEqual({ cache: 4096, rss: 8192 });
    expect(s.pids_stats).toEqual({ current: 7, limit: 0 });
    expect(s.blkio_stats.io_service_bytes_recursive).toEqual([
      { major: 8, minor: 0, op: "read", value: 100 },
      { major: 8, minor: 0, op: "write", value: 200 },
    ]);
    expect(s.hugetlb_stats).toEqual({ "2MB": { usage: 2097152, max_usage: 4194304, failcnt: 1 } });
    expect(m.oomKilled()).toBe(3);
  });
});

describe("v2 manager on a fake tree", () => {
  const LEAF_FILES = {
    "cgroup.procs": "", "cgroup.controllers": "", "cgroup.subtree_control": "", "cpu.weight": "100", "cpu.max": "max 100000",
    "cpuset.cpus": "", "cpuset.mems": "", "memory.max": "max", "memory.low": "0", "memory.swap.max": "max", "pids.max": "max",
    "io.weight": "default 100", "io.max": "", "hugetlb.2MB.max": "max",
  };

  function v2Tree(): string {
    tmp = mkdtempSync(join(tmpdir(), "cg2-"));
    fakeCgroup(tmp, { "cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc", "cgroup.subtree_control": "cpu" });
    fakeCgroup(join(tmp, "pod"), { "cgroup.controllers": "cpuset cpu io memory hugetlb pids", "cgroup.subtree_control": "" });
    fakeCgroup(join(tmp, "pod/ctr"), LEAF_FILES);
    return tmp;
  }

  test("create() enables the controllers each parent offers and lacks", () => {
    const root = v2Tree();
    // A new leaf (the fake tree's pod/ctr exists already, and create() refuses existing cgroups).
    newManager({ version: 2, cgroupsPath: "/pod/ctr2", containerId: "ctr2", root }).create();
    expect(read(root, "cgroup.subtree_control")).toBe("+cpuset +io +memory +hugetlb +pids");
    expect(read(root, "pod/cgroup.subtree_control")).toBe("+cpuset +cpu +io +memory +hugetlb +pids");
  });

  test("every resource lands in its v2 file, converted", () => {
    const root = v2Tree();
    const m = newManager({ version: 2, cgroupsPath: "/pod/ctr", containerId: "ctr", root });
    m.apply(FULL);
    const at = (f: string) => read(root, "pod/ctr", f);
    expect(at("cpu.weight")).toBe("39");
    expect(at("cpu.max")).toBe("50000 100000");
    expect(at("cpuset.cpus")).toBe("0-1");
    expect(at("cpuset.mems")).toBe("0");
    expect(at("memory.max")).toBe(String(256 << 20));
    expect(at("memory.swap.max")).toBe(String(256 << 20)); // (memory+swap) - memory
    expect(at("memory.low")).toBe(String(128 << 20));
    expect(at("pids.max")).toBe("100");
    expect(at("io.weight")).toBe("8:0 2930"); // last write: the per-device weight, 1 + (300-10)*9999/990
    expect(at("io.max")).toBe("8:0 wiops=max"); // last throttle; rate 0 = no limit
    expect(at("hugetlb.2MB.max")).toBe(String(8 << 20));

    m.update({ Memory: { Limit: -1 }, CPU: { Quota: -1, Period: 20000 }, BlockIO: { Weight: 1000 } });
    expect(at("memory.max")).toBe("max");
    expect(at("memory.swap.max")).toBe("max");
    expect(at("cpu.max")).toBe("max 20000");
    expect(at("io.weight")).toBe("default 10000");
  });

  test("stats come from the v2 files", () => {
    const root = v2Tree();
    fakeCgroup(join(root, "pod/ctr"), {
      "cpu.stat": "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 70\n",
      "memory.current": "8192", "memory.peak": "16384", "memory.max": "max", "memory.events": "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n",
      "memory.stat": "anon 4096\nfile 2048\nkernel 1024\n", "memory.swap.current": "0", "memory.swap.max": "4096",
      "pids.current": "3", "pids.max": "64", "io.stat": "8:0 rbytes=5 wbytes=6 rios=1 wios=2 dbytes=0 dios=0\n",
      "hugetlb.2MB.current": "2097152", "hugetlb.2MB.events": "max 2\n",
    });
    const m = newManager({ version: 2, cgroupsPath: "/pod/ctr", containerId: "ctr", root });
    const s = m.stats();
    expect(s.cpu_stats.cpu_usage).toEqual({ total_usage: 2e6, percpu_usage: [], usage_in_usermode: 1.5e6, usage_in_kernelmode: 5e5 });
    expect(s.cpu_stats.throttling_data).toEqual({ periods: 3, throttled_periods: 1, throttled_time: 70000 });
    expect(s.memory_stats.usage).toEqual({ usage: 8192, max_usage: 16384, failcnt: 4, limit: 0 });
    expect(s.memory_stats.swap_usage.limit).toBe(4096);
    expect(s.memory_stats.kernel_usage.usage).toBe(1024);
    expect(s.memory_stats.cache).toBe(2048);
    expect(s.pids_stats).toEqual({ current: 3, limit: 64 });
    expect(s.blkio_stats.io_service_bytes_recursive.length).toBe(6);
    expect(s.hugetlb_stats["2MB"]).toEqual({ usage: 2097152, max_usage: 0, failcnt: 2 });
    expect(m.oomKilled()).toBe(1);
  });

  test("a missing control file is a clear error, not a created file", () => {
    const root = v2Tree();
    rmSync(join(root, "pod/ctr/pids.max"));
    const m = newManager({ version: 2, cgroupsPath: "/pod/ctr", containerId: "ctr", root });
    expect(() => m.apply({ Pids: { Limit: 5 } })).toThrow(/pids\.max.*ENOENT/);
  });
});
