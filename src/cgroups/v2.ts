// cgroup v2: one directory in the unified hierarchy. OCI resources are v1-shaped; the conversions
// are runc's and crun's (cpu.weight from shares, swap.max = memory+swap - memory, io.weight from
// blkio weight). proto3 zeros mean "not requested" and are not written.
//
// Devices: v2 has no devices controller. As runc and Kata do, an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE built from the same rules as the v1 whitelist (device-filter.ts) is
// attached to the cgroup before the first process joins it, and replaced when UpdateContainer
// brings device rules.
import { CgroupError, cgLog, hasFile, hugepageSizes, makeNewLevels, openProcs, readOptional, readProcsRecursive, readValue, removeLevels, undoNewLevels, sleep, writeValue } from "./fsutil.ts";
import type { CgroupManager, CgroupMountView } from "./manager.ts";
import { deviceFilterProgram, rulesFromWrites } from "./device-filter.ts";
import { initialDeviceWrites, specDeviceWrites, type DeviceWrite } from "./devices.ts";
import { attachDeviceProgram, detachDeviceProgram, loadDeviceProgram } from "../sys/bpf.ts";
import { closeFd } from "../sys/pipe.ts";
import { int, str, type LinuxBlockIO, type LinuxCPU, type LinuxMemory, type LinuxThrottleDevice, type Resources } from "./resources.ts";
import { emptyMemoryData, emptyStats, parseFlatKeyed, parseIoStat, parseUint, type CgroupStats, type MemoryData } from "./stats.ts";
import { join } from "node:path";

/** Controllers enabled for container cgroups when the parent offers them. */
export const V2_CONTROLLERS = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"] as const;

const FREEZE_TIMEOUT_MS = 5000;

/** runc's conversion of cpu shares [2, 262144] to cpu.weight [1, 10000]; 0 stays "unset". */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** runc's conversion of a blkio weight [10, 1000] to io.weight [1, 10000]; 0 stays "unset". */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI swap is memory+swap; v2's memory.swap.max is swap alone. Returns -1 for "max", 0 for "leave
 * alone", else the swap.max value. Throws on combinations runc also refuses.
 */
export function swapToV2(swap: number, memory: number): number {
  // Unlimited memory with swap unset means both unlimited, as on v1.
  if (memory === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (memory === 0 || memory === -1) throw new CgroupError("cgroups: unable to set a swap limit without a memory limit");
  if (memory < 0) throw new CgroupError(`cgroups: invalid memory value ${memory}`);
  if (swap < memory) throw new CgroupError(`cgroups: memory+swap limit (${swap}) must be >= memory limit (${memory})`);
  return swap - memory;
}

/** runc's cpu.max value: "max" or the quota, then the period when one is given. */
export function cpuMax(quota: number, period: number): string | undefined {
  if (quota === 0 && period === 0) return undefined;
  let v = quota > 0 ? String(quota) : "max";
  if (period !== 0) v += ` ${period}`;
  return v;
}

const limitText = (n: number): string => (n < 0 ? "max" : String(n));

export class V2Manager implements CgroupManager {
  readonly path: string;
  readonly dir: string;
  /** The v1-shaped device rules so far (Kata's defaults, then the spec's). */
  private readonly deviceWrites: DeviceWrite[] = initialDeviceWrites();
  private deviceProg = -1;
  private devicesChanged = true;

  constructor(readonly root: string, private readonly rel: string) {
    this.path = "/" + rel;
    this.dir = join(root, rel);
  }

  mountView(): CgroupMountView {
    return { version: 2 };
  }

  cpusetLocation(): { root: string; dir: string } {
    return { root: this.root, dir: this.dir };
  }

  create(): void {
    const levels = makeNewLevels(this.root, this.rel);
    try {
      for (const level of levels) enableControllers(level.parent);
    } catch (e) {
      undoNewLevels(this.root, this.dir);
      throw e;
    }
    cgLog.info("cgroup created", { path: this.path, cgroup_version: 2 });
  }

  apply(r: Resources): void {
    this.set(r);
  }

  update(r: Resources): void {
    this.set(r);
  }

  private set(r: Resources): void {
    if (r.Devices?.length) {
      this.deviceWrites.push(...specDeviceWrites(r.Devices));
      this.devicesChanged = true;
      // Already enforced (UpdateContainer): replace the program now.
      if (this.deviceProg >= 0) this.attachDeviceFilter();
    }
    if (r.CPU) this.setCpu(r.CPU);
    if (r.Memory) this.setMemory(r.Memory);
    if (r.Pids) writeValue(this.dir, "pids.max", int(r.Pids.Limit) > 0 ? int(r.Pids.Limit) : "max");
    if (r.BlockIO) this.setIo(r.BlockIO);
    for (const h of r.HugepageLimits ?? []) {
      const size = str(h.Pagesize);
      if (!size) continue;
      const file = `hugetlb.${size}.max`;
      if (hasFile(this.dir, file)) writeValue(this.dir, file, int(h.Limit));
      else cgLog.warn("hugepage size not supported, limit dropped", { pagesize: size });
    }
    if (r.Network && (r.Network.ClassID || r.Network.Priorities?.length)) {
      cgLog.warn("net_cls/net_prio do not exist in cgroup v2, network resources ignored");
    }
  }

  private setCpu(cpu: LinuxCPU): void {
    if (str(cpu.Cpus)) {
      // Like Kata: a cpuset the guest cannot honour (vCPUs not hot-plugged yet) is not fatal.
      try {
        writeValue(this.dir, "cpuset.cpus", cpu.Cpus!);
      } catch (e) {
        cgLog.warn("writing cpuset.cpus failed", { error: e });
      }
    }
    if (str(cpu.Mems)) writeValue(this.dir, "cpuset.mems", cpu.Mems!);
    const weight = sharesToWeight(int(cpu.Shares));
    if (weight) writeValue(this.dir, "cpu.weight", weight);
    const max = cpuMax(int(cpu.Quota), int(cpu.Period));
    if (max) writeValue(this.dir, "cpu.max", max);
    if (int(cpu.RealtimePeriod) || int(cpu.RealtimeRuntime)) {
      cgLog.warn("realtime cpu limits do not exist in cgroup v2, ignored");
    }
  }

  private setMemory(m: LinuxMemory): void {
    const limit = int(m.Limit);
    const swap = swapToV2(int(m.Swap), limit);
    if (limit !== 0) writeValue(this.dir, "memory.max", limitText(limit));
    if (swap !== 0) {
      if (hasFile(this.dir, "memory.swap.max")) writeValue(this.dir, "memory.swap.max", limitText(swap));
      else cgLog.warn("memory.swap.max missing (no swap accounting), swap limit ignored");
    }
    if (int(m.Reservation)) writeValue(this.dir, "memory.low", limitText(int(m.Reservation)));
    const ignored: string[] = [];
    if (int(m.Kernel)) ignored.push("kernel");
    if (int(m.KernelTCP)) ignored.push("kernelTCP");
    if (int(m.Swappiness)) ignored.push("swappiness");
    if (m.DisableOOMKiller) ignored.push("disableOOMKiller");
    if (ignored.length) cgLog.warn("memory settings without a cgroup v2 equivalent ignored", { settings: ignored.join(",") });
  }

  private setIo(b: LinuxBlockIO): void {
    // BFQ's io.bfq.weight keeps the blkio range; the generic io.weight needs the conversion.
    const bfq = hasFile(this.dir, "io.bfq.weight");
    if (b.Weight) {
      if (bfq) writeValue(this.dir, "io.bfq.weight", b.Weight);
      else writeValue(this.dir, "io.weight", `default ${blkioWeightToIoWeight(b.Weight)}`);
    }
    for (const d of b.WeightDevice ?? []) {
      if (!d.Weight) continue;
      const dev = `${int(d.Major)}:${int(d.Minor)}`;
      if (bfq) writeValue(this.dir, "io.bfq.weight", `${dev} ${d.Weight}`);
      else writeValue(this.dir, "io.weight", `${dev} ${blkioWeightToIoWeight(d.Weight)}`);
    }
    const throttles: [LinuxThrottleDevice[] | null | undefined, string][] = [
      [b.ThrottleReadBpsDevice, "rbps"],
      [b.ThrottleWriteBpsDevice, "wbps"],
      [b.ThrottleReadIOPSDevice, "riops"],
      [b.ThrottleWriteIOPSDevice, "wiops"],
    ];
    for (const [list, key] of throttles) {
      for (const t of list ?? []) {
        const rate = int(t.Rate);
        writeValue(this.dir, "io.max", `${int(t.Major)}:${int(t.Minor)} ${key}=${rate > 0 ? rate : "max"}`);
      }
    }
  }

  /** Loads the device program for the current rules, attaches it, then drops the old one (both
   *  apply for that instant: the stricter of the two). */
  private attachDeviceFilter(): void {
    const prog = loadDeviceProgram(deviceFilterProgram(rulesFromWrites(this.deviceWrites)));
    try {
      attachDeviceProgram(this.dir, prog);
    } catch (e) {
      closeFd(prog);
      throw e;
    }
    const old = this.deviceProg;
    this.deviceProg = prog;
    this.devicesChanged = false;
    if (old >= 0) {
      try {
        detachDeviceProgram(this.dir, old);
      } finally {
        closeFd(old);
      }
    }
    cgLog.debug("cgroup device filter attached", { path: this.path, rules: this.deviceWrites.length });
  }

  /** Before any process joins: nothing may run in the cgroup without its device filter. */
  private enforceDevices(): void {
    if (this.devicesChanged) this.attachDeviceFilter();
  }

  procsFds(): number[] {
    this.enforceDevices();
    return [openProcs(this.dir)];
  }

  addProcess(pid: number): void {
    this.enforceDevices();
    writeValue(this.dir, "cgroup.procs", pid);
  }

  pids(): number[] {
    return readProcsRecursive(this.dir);
  }

  private async setFrozen(frozen: boolean): Promise<void> {
    const want = frozen ? 1 : 0;
    writeValue(this.dir, "cgroup.freeze", want);
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      const state = parseFlatKeyed(readValue(this.dir, "cgroup.events"))["frozen"];
      if (state === want) return;
      if (Date.now() >= deadline) {
        if (frozen) writeValue(this.dir, "cgroup.freeze", 0);
        throw new CgroupError(`cgroups: ${this.dir} did not become ${frozen ? "frozen" : "thawed"}`);
      }
      await sleep(attempt < 10 ? 1 : 10);
    }
  }

  freeze(): Promise<void> {
    return this.setFrozen(true);
  }

  thaw(): Promise<void> {
    return this.setFrozen(false);
  }

  isFrozen(): boolean {
    // Requested (cgroup.freeze) or still in effect (cgroup.events "frozen 1").
    return readOptional(this.dir, "cgroup.freeze") === "1" || parseFlatKeyed(readOptional(this.dir, "cgroup.events"))["frozen"] === 1;
  }

  oomKilled(): number {
    return parseFlatKeyed(readOptional(this.dir, "memory.events"))["oom_kill"] ?? 0;
  }

  stats(): CgroupStats {
    const s = emptyStats();
    const read = (f: string) => readOptional(this.dir, f);
    // cpu.stat exists even without the cpu controller (usage only); times are µs, the proto wants ns.
    const cpu = parseFlatKeyed(read("cpu.stat"));
    s.cpu_stats.cpu_usage = {
      total_usage: (cpu["usage_usec"] ?? 0) * 1000,
      percpu_usage: [],
      usage_in_kernelmode: (cpu["system_usec"] ?? 0) * 1000,
      usage_in_usermode: (cpu["user_usec"] ?? 0) * 1000,
    };
    s.cpu_stats.throttling_data = {
      periods: cpu["nr_periods"] ?? 0,
      throttled_periods: cpu["nr_throttled"] ?? 0,
      throttled_time: (cpu["throttled_usec"] ?? 0) * 1000,
    };
    if (read("memory.current") !== undefined) {
      const stat = parseFlatKeyed(read("memory.stat"));
      const data = (prefix: string): MemoryData => {
        const d = emptyMemoryData();
        d.usage = parseUint(read(`${prefix}.current`));
        d.max_usage = parseUint(read(`${prefix}.peak`));
        d.failcnt = parseFlatKeyed(read(`${prefix}.events`))["max"] ?? 0;
        d.limit = parseUint(read(`${prefix}.max`));
        return d;
      };
      const kernel = emptyMemoryData();
      kernel.usage = stat["kernel"] ?? (stat["kernel_stack"] ?? 0) + (stat["slab"] ?? 0);
      s.memory_stats = {
        cache: stat["file"] ?? 0,
        usage: data("memory"),
        swap_usage: data("memory.swap"),
        kernel_usage: kernel,
        use_hierarchy: true,
        stats: stat,
      };
    }
    if (read("pids.current") !== undefined) {
      s.pids_stats = { current: parseUint(read("pids.current")), limit: parseUint(read("pids.max")) };
    }
    s.blkio_stats.io_service_bytes_recursive = parseIoStat(read("io.stat"));
    for (const size of hugepageSizes(this.dir, ".current")) {
      s.hugetlb_stats[size] = {
        usage: parseUint(read(`hugetlb.${size}.current`)),
        max_usage: 0, // v2 keeps no peak for hugetlb
        failcnt: parseFlatKeyed(read(`hugetlb.${size}.events`))["max"] ?? 0,
      };
    }
    return s;
  }

  async destroy(timeoutMs = 5000): Promise<void> {
    await removeLevels(this.root, this.dir, timeoutMs);
    // The cgroup held the program; our fd is the last reference.
    if (this.deviceProg >= 0) closeFd(this.deviceProg);
    this.deviceProg = -1;
    cgLog.info("cgroup removed", { path: this.path, cgroup_version: 2 });
  }
}

/**
 * Turns on, in `parent`'s cgroup.subtree_control, the controllers we use that the parent offers and
 * has not enabled yet (so an already configured ancestor is not written at all). A parent that
 * holds processes cannot delegate domain controllers (EBUSY): logged, and the resource writes that
 * need the missing files then fail with a clear error.
 */
function enableControllers(parent: string): void {
  const offered = (readOptional(parent, "cgroup.controllers") ?? "").split(/\s+/);
  const enabled = (readOptional(parent, "cgroup.subtree_control") ?? "").split(/\s+/);
  const missing = V2_CONTROLLERS.filter((c) => offered.includes(c) && !enabled.includes(c));
  if (missing.length === 0) return;
  try {
    writeValue(parent, "cgroup.subtree_control", missing.map((c) => "+" + c).join(" "));
  } catch {
    // One refused controller fails the whole write: retry one by one to enable what we can.
    for (const c of missing) {
      try {
        writeValue(parent, "cgroup.subtree_control", "+" + c);
      } catch (e) {
        cgLog.warn("cannot enable cgroup controller", { path: parent, controller: c, error: e });
      }
    }
  }
}
