// cgroup v1: one directory per hierarchy (a hierarchy is one controller or a co-mounted group such
// as cpu,cpuacct). Resource mapping follows Kata's agent (rustjail/src/cgroups/fs) and the kernel's
// cgroup-v1 file names; proto3 zeros mean "not requested" and are not written.
import { initialDeviceWrites, specDeviceWrites, type DeviceWrite } from "./devices.ts";
import {
  CgroupError, cgLog, closeQuietly, hasFile, hugepageSizes, openProcs, readOptional, readProcsRecursive, readValue,
  makeNewLevels, removeLevels, undoNewLevels, sleep, writeValue, writeValues,
} from "./fsutil.ts";
import type { CgroupManager, CgroupMountView } from "./manager.ts";
import { int, str, type LinuxBlockIO, type LinuxCPU, type LinuxMemory, type LinuxThrottleDevice, type Resources } from "./resources.ts";
import {
  emptyBlkioStats, emptyMemoryData, emptyStats, parseBlkioOps, parseBlkioPlain, parseFlatKeyed, parseNumberList, parseUint,
  type BlkioStats, type CgroupStats, type MemoryData,
} from "./stats.ts";
import { basename, join } from "node:path";

export interface V1Hierarchy {
  mountPoint: string;
  controllers: string[];
}

/** USER_HZ, the unit of cpuacct.stat: 100 on every Linux architecture Kata supports. */
const CLOCK_TICKS = 100;
const FREEZE_TIMEOUT_MS = 5000;

export class V1Manager implements CgroupManager {
  readonly path: string;
  /** controller → this container's directory in the hierarchy holding it. */
  private readonly dirs = new Map<string, string>();
  private readonly hierarchies: { mountPoint: string; dir: string; controllers: string[] }[];

  constructor(hierarchies: V1Hierarchy[], private readonly rel: string) {
    this.path = "/" + rel;
    this.hierarchies = hierarchies.map((h) => ({ ...h, dir: join(h.mountPoint, rel) }));
    for (const h of this.hierarchies) for (const c of h.controllers) this.dirs.set(c, h.dir);
  }

  mountView(): CgroupMountView {
    return { version: 1, controllers: this.hierarchies.map((h) => ({ name: basename(h.mountPoint), hostPath: h.dir })) };
  }

  /** The container's directory for a controller, or undefined when that controller is not mounted. */
  dirOf(controller: string): string | undefined {
    return this.dirs.get(controller);
  }

  cpusetLocation(): { root: string; dir: string } | undefined {
    const h = this.hierarchies.find((x) => x.controllers.includes("cpuset"));
    return h ? { root: h.mountPoint, dir: h.dir } : undefined;
  }

  private need(controller: string, what: string): string | undefined {
    const dir = this.dirs.get(controller);
    if (!dir) cgLog.warn("cgroup controller not mounted, resource ignored", { controller, resource: what });
    return dir;
  }

  create(): void {
    const made: { mountPoint: string; dir: string }[] = [];
    try {
      for (const h of this.hierarchies) {
        const levels = makeNewLevels(h.mountPoint, this.rel);
        made.push(h);
        if (h.controllers.includes("cpuset")) {
          // A cpuset cgroup starts with empty cpus/mems and refuses tasks until they are set:
          // copy the parent's at every level we made.
          for (const l of levels) {
            if (!l.created) continue;
            for (const f of ["cpuset.cpus", "cpuset.mems"]) {
              if (readValue(l.dir, f) === "") writeValue(l.dir, f, readValue(l.parent, f));
            }
          }
        }
      }
      const devices = this.dirs.get("devices");
      if (devices) writeDeviceRules(devices, initialDeviceWrites());
    } catch (e) {
      // Nothing was put in them yet: take back what this create made in the hierarchies before.
      for (const h of made) undoNewLevels(h.mountPoint, h.dir);
      throw e;
    }
    cgLog.info("cgroup created", { path: this.path, cgroup_version: 1 });
  }

  apply(r: Resources): void {
    this.set(r);
  }

  update(r: Resources): void {
    this.set(r);
  }

  private set(r: Resources): void {
    if (r.CPU) this.setCpu(r.CPU);
    if (r.Memory) this.setMemory(r.Memory);
    if (r.Pids) {
      const dir = this.need("pids", "pids");
      if (dir) writeValue(dir, "pids.max", int(r.Pids.Limit) > 0 ? int(r.Pids.Limit) : "max");
    }
    if (r.BlockIO) this.setBlkio(r.BlockIO);
    for (const h of r.HugepageLimits ?? []) {
      const dir = this.need("hugetlb", "hugepage limits");
      const size = str(h.Pagesize);
      if (!dir || !size) continue;
      const file = `hugetlb.${size}.limit_in_bytes`;
      if (hasFile(dir, file)) writeValue(dir, file, int(h.Limit));
      else cgLog.warn("hugepage size not supported, limit dropped", { pagesize: size });
    }
    if (r.Network) {
      if (r.Network.ClassID) {
        const dir = this.need("net_cls", "network class id");
        if (dir) writeValue(dir, "net_cls.classid", r.Network.ClassID);
      }
      for (const p of r.Network.Priorities ?? []) {
        const dir = this.need("net_prio", "network priorities");
        if (dir && p.Name) writeValue(dir, "net_prio.ifpriomap", `${p.Name} ${p.Priority ?? 0}`);
      }
    }
    const devices = this.dirs.get("devices");
    if (devices) writeDeviceRules(devices, specDeviceWrites(r.Devices ?? []));
  }

  private setCpu(cpu: LinuxCPU): void {
    const cpuset = this.dirs.get("cpuset");
    if (cpuset && str(cpu.Cpus)) {
      // Like Kata: a cpuset the guest cannot honour (vCPUs not hot-plugged yet) is not fatal.
      try {
        writeValue(cpuset, "cpuset.cpus", cpu.Cpus!);
      } catch (e) {
        cgLog.warn("writing cpuset.cpus failed", { error: e });
      }
    }
    if (cpuset && str(cpu.Mems)) writeValue(cpuset, "cpuset.mems", cpu.Mems!);
    const wantsCpu = int(cpu.Shares) || int(cpu.Period) || int(cpu.Quota) || int(cpu.RealtimePeriod) || int(cpu.RealtimeRuntime);
    const dir = wantsCpu ? this.need("cpu", "cpu") : undefined;
    if (!dir) return;
    if (int(cpu.Shares)) writeValue(dir, "cpu.shares", int(cpu.Shares));
    // Period before quota: the kernel checks quota against the period it already has.
    if (int(cpu.Period)) writeValue(dir, "cpu.cfs_period_us", int(cpu.Period));
    if (int(cpu.Quota)) writeValue(dir, "cpu.cfs_quota_us", int(cpu.Quota));
    if (int(cpu.RealtimePeriod)) writeValue(dir, "cpu.rt_period_us", int(cpu.RealtimePeriod));
    if (int(cpu.RealtimeRuntime)) writeValue(dir, "cpu.rt_runtime_us", int(cpu.RealtimeRuntime));
  }

  private setMemory(m: LinuxMemory): void {
    const dir = this.need("memory", "memory");
    if (!dir) return;
    const limit = int(m.Limit);
    // memory.memsw is memory+swap, exactly the OCI meaning; unlimited memory means unlimited swap.
    const swap = limit === -1 ? -1 : int(m.Swap);
    const memsw = "memory.memsw.limit_in_bytes";
    const writeSwap = () => {
      if (hasFile(dir, memsw)) writeValue(dir, memsw, swap);
      else cgLog.warn("swap accounting is off, swap limit ignored", { swap });
    };
    if (limit !== 0 && swap !== 0) {
      // The kernel keeps memsw >= memory at all times, so the order depends on where we go.
      const current = parseUint(readOptional(dir, "memory.limit_in_bytes"));
      if (swap === -1 || current < swap) {
        writeSwap();
        writeValue(dir, "memory.limit_in_bytes", limit);
      } else {
        writeValue(dir, "memory.limit_in_bytes", limit);
        writeSwap();
      }
    } else {
      if (limit !== 0) writeValue(dir, "memory.limit_in_bytes", limit);
      if (swap !== 0) writeSwap();
    }
    if (int(m.Reservation)) writeValue(dir, "memory.soft_limit_in_bytes", int(m.Reservation));
    if (int(m.Kernel)) {
      // Kernel memory limits were removed in Linux 5.16+/6.x: ignored there.
      try {
        writeValue(dir, "memory.kmem.limit_in_bytes", int(m.Kernel));
      } catch (e) {
        cgLog.warn("kernel memory limit not supported, ignored", { error: e });
      }
    }
    if (int(m.KernelTCP)) writeValue(dir, "memory.kmem.tcp.limit_in_bytes", int(m.KernelTCP));
    const swappiness = int(m.Swappiness);
    if (swappiness > 100 || swappiness < 0) {
      throw new CgroupError(`invalid memory swappiness ${swappiness}: the valid range is 0-100`);
    }
    if (swappiness > 0) writeValue(dir, "memory.swappiness", swappiness);
    if (m.DisableOOMKiller) writeValue(dir, "memory.oom_control", 1);
  }

  private setBlkio(b: LinuxBlockIO): void {
    const dir = this.need("blkio", "block io");
    if (!dir) return;
    // CFQ's blkio.weight is gone from current kernels; BFQ offers blkio.bfq.weight with the same range.
    const prefix = hasFile(dir, "blkio.weight") ? "blkio." : hasFile(dir, "blkio.bfq.weight") ? "blkio.bfq." : undefined;
    const weightFile = (name: string) => {
      if (prefix) return prefix + name;
      cgLog.warn("no blkio weight support (neither CFQ nor BFQ), weight ignored");
      return undefined;
    };
    if (b.Weight) {
      const f = weightFile("weight");
      if (f) writeValue(dir, f, b.Weight);
    }
    if (b.LeafWeight && hasFile(dir, "blkio.leaf_weight")) writeValue(dir, "blkio.leaf_weight", b.LeafWeight);
    for (const d of b.WeightDevice ?? []) {
      const dev = `${int(d.Major)}:${int(d.Minor)}`;
      if (d.Weight) {
        const f = weightFile("weight_device");
        if (f) writeValue(dir, f, `${dev} ${d.Weight}`);
      }
      if (d.LeafWeight && hasFile(dir, "blkio.leaf_weight_device")) writeValue(dir, "blkio.leaf_weight_device", `${dev} ${d.LeafWeight}`);
    }
    const throttles: [LinuxThrottleDevice[] | null | undefined, string][] = [
      [b.ThrottleReadBpsDevice, "blkio.throttle.read_bps_device"],
      [b.ThrottleWriteBpsDevice, "blkio.throttle.write_bps_device"],
      [b.ThrottleReadIOPSDevice, "blkio.throttle.read_iops_device"],
      [b.ThrottleWriteIOPSDevice, "blkio.throttle.write_iops_device"],
    ];
    for (const [list, file] of throttles) {
      for (const t of list ?? []) writeValue(dir, file, `${int(t.Major)}:${int(t.Minor)} ${int(t.Rate)}`);
    }
  }

  procsFds(): number[] {
    const fds: number[] = [];
    try {
      for (const h of this.hierarchies) fds.push(openProcs(h.dir));
    } catch (e) {
      for (const fd of fds) closeQuietly(fd);
      throw e;
    }
    return fds;
  }

  addProcess(pid: number): void {
    for (const h of this.hierarchies) writeValue(h.dir, "cgroup.procs", pid);
  }

  pids(): number[] {
    const dir = this.dirs.get("memory") ?? this.dirs.get("pids") ?? this.hierarchies[0]!.dir;
    return readProcsRecursive(dir);
  }

  private async setFreezer(state: "FROZEN" | "THAWED"): Promise<void> {
    const dir = this.dirs.get("freezer");
    if (!dir) throw new CgroupError("cgroups: the freezer controller is not mounted");
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      // Re-request now and then: a task that was busy in the kernel can leave the cgroup FREEZING.
      if (attempt % 50 === 0) writeValue(dir, "freezer.state", state);
      const now = readValue(dir, "freezer.state");
      if (now === state) return;
      if (Date.now() >= deadline) {
        if (state === "FROZEN") writeValue(dir, "freezer.state", "THAWED");
        throw new CgroupError(`cgroups: ${dir} did not become ${state} (still ${now})`);
      }
      await sleep(attempt < 10 ? 1 : 10);
    }
  }

  freeze(): Promise<void> {
    return this.setFreezer("FROZEN");
  }

  thaw(): Promise<void> {
    return this.setFreezer("THAWED");
  }

  isFrozen(): boolean {
    const dir = this.dirs.get("freezer");
    const state = dir ? readOptional(dir, "freezer.state") : undefined;
    return state !== undefined && state !== "THAWED";
  }

  oomKilled(): number {
    const dir = this.dirs.get("memory");
    return dir ? parseFlatKeyed(readOptional(dir, "memory.oom_control"))["oom_kill"] ?? 0 : 0;
  }

  stats(): CgroupStats {
    const s = emptyStats();
    const cpuacct = this.dirs.get("cpuacct");
    if (cpuacct) {
      const ticks = parseFlatKeyed(readOptional(cpuacct, "cpuacct.stat"));
      s.cpu_stats.cpu_usage = {
        total_usage: parseUint(readOptional(cpuacct, "cpuacct.usage")),
        percpu_usage: parseNumberList(readOptional(cpuacct, "cpuacct.usage_percpu")),
        usage_in_kernelmode: Math.floor(((ticks["system"] ?? 0) * 1e9) / CLOCK_TICKS),
        usage_in_usermode: Math.floor(((ticks["user"] ?? 0) * 1e9) / CLOCK_TICKS),
      };
    }
    const cpu = this.dirs.get("cpu");
    if (cpu) {
      const st = parseFlatKeyed(readOptional(cpu, "cpu.stat"));
      s.cpu_stats.throttling_data = {
        periods: st["nr_periods"] ?? 0,
        throttled_periods: st["nr_throttled"] ?? 0,
        throttled_time: st["throttled_time"] ?? 0,
      };
    }
    const mem = this.dirs.get("memory");
    if (mem) {
      const data = (prefix: string): MemoryData => {
        const d = emptyMemoryData();
        if (!hasFile(mem, `${prefix}.usage_in_bytes`)) return d;
        d.usage = parseUint(readOptional(mem, `${prefix}.usage_in_bytes`));
        d.max_usage = parseUint(readOptional(mem, `${prefix}.max_usage_in_bytes`));
        d.failcnt = parseUint(readOptional(mem, `${prefix}.failcnt`));
        d.limit = parseUint(readOptional(mem, `${prefix}.limit_in_bytes`));
        return d;
      };
      const stat = parseFlatKeyed(readOptional(mem, "memory.stat"));
      s.memory_stats = {
        cache: stat["cache"] ?? 0,
        usage: data("memory"),
        swap_usage: data("memory.memsw"),
        kernel_usage: data("memory.kmem"),
        use_hierarchy: readOptional(mem, "memory.use_hierarchy") === "1",
        stats: stat,
      };
    }
    const pids = this.dirs.get("pids");
    if (pids) {
      s.pids_stats = { current: parseUint(readOptional(pids, "pids.current")), limit: parseUint(readOptional(pids, "pids.max")) };
    }
    const blkio = this.dirs.get("blkio");
    if (blkio) s.blkio_stats = blkioStats(blkio);
    const hugetlb = this.dirs.get("hugetlb");
    if (hugetlb) {
      for (const size of hugepageSizes(hugetlb, ".limit_in_bytes")) {
        s.hugetlb_stats[size] = {
          usage: parseUint(readOptional(hugetlb, `hugetlb.${size}.usage_in_bytes`)),
          max_usage: parseUint(readOptional(hugetlb, `hugetlb.${size}.max_usage_in_bytes`)),
          failcnt: parseUint(readOptional(hugetlb, `hugetlb.${size}.failcnt`)),
        };
      }
    }
    return s;
  }

  async destroy(timeoutMs = 5000): Promise<void> {
    const errors: string[] = [];
    for (const h of this.hierarchies) {
      try {
        await removeLevels(h.mountPoint, h.dir, timeoutMs);
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
    if (errors.length) throw new CgroupError(errors.join("; "), "EBUSY");
    cgLog.info("cgroup removed", { path: this.path, cgroup_version: 1 });
  }
}

/** Like Kata: the CFQ/BFQ recursive statistics when the scheduler keeps them, else the throttle ones. */
function blkioStats(dir: string): BlkioStats {
  const b = emptyBlkioStats();
  const read = (f: string) => readOptional(dir, f);
  const sched = read("blkio.io_serviced_recursive") ? "blkio." : read("blkio.bfq.io_serviced_recursive") ? "blkio.bfq." : undefined;
  if (sched) {
    b.io_service_bytes_recursive = parseBlkioOps(read(`${sched}io_service_bytes_recursive`));
    b.io_serviced_recursive = parseBlkioOps(read(`${sched}io_serviced_recursive`));
    b.io_queued_recursive = parseBlkioOps(read(`${sched}io_queued_recursive`));
    b.io_service_time_recursive = parseBlkioOps(read(`${sched}io_service_time_recursive`));
    b.io_wait_time_recursive = parseBlkioOps(read(`${sched}io_wait_time_recursive`));
    b.io_merged_recursive = parseBlkioOps(read(`${sched}io_merged_recursive`));
    b.io_time_recursive = parseBlkioPlain(read(`${sched}time_recursive`));
    b.sectors_recursive = parseBlkioPlain(read(`${sched}sectors_recursive`));
  } else {
    b.io_service_bytes_recursive = parseBlkioOps(read("blkio.throttle.io_service_bytes_recursive") ?? read("blkio.throttle.io_service_bytes"));
    b.io_serviced_recursive = parseBlkioOps(read("blkio.throttle.io_serviced_recursive") ?? read("blkio.throttle.io_serviced"));
  }
  return b;
}

/** The rules in order, each with its own write(2); a run of rules for the same file shares one open. */
function writeDeviceRules(dir: string, writes: readonly DeviceWrite[]): void {
  for (let i = 0; i < writes.length; ) {
    const file = writes[i]!.file;
    const rules: string[] = [];
    for (; i < writes.length && writes[i]!.file === file; i++) rules.push(writes[i]!.rule);
    writeValues(dir, file, rules);
  }
}
