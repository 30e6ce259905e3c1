// Parsers for the /proc files GetMetrics reads, each turning the file's text into the [label, value]
// pairs of Kata's metrics.rs (which reads them with the procfs crate; units follow that crate:
// meminfo in bytes, process status in kB as the file has it, CPU times in milliseconds).
// Pure functions: the tests feed them fixed texts.

/** /proc/loadavg → load1/load5/load15 and tasks cur/max. */
export function parseLoadavg(text: string): { load: [string, number][]; tasks: [string, number][] } {
  const f = text.trim().split(/\s+/);
  const [cur, max] = (f[3] ?? "0/0").split("/").map(Number);
  return {
    load: [["load1", Number(f[0])], ["load5", Number(f[1])], ["load15", Number(f[2])]],
    tasks: [["cur", cur ?? 0], ["max", max ?? 0]],
  };
}

const CPU_ITEMS = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice"];

/** /proc/stat cpu lines → [cpu ("total", "0", …), item, milliseconds]. */
export function parseCpuTimes(text: string, ticksPerSecond = 100): [string, string, number][] {
  const out: [string, string, number][] = [];
  for (const line of text.split("\n")) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    const cpu = m[1] === "" ? "total" : m[1]!;
    const ticks = m[2]!.trim().split(/\s+/).map(Number);
    CPU_ITEMS.forEach((item, i) => out.push([cpu, item, Math.trunc(((ticks[i] ?? 0) * 1000) / ticksPerSecond)]));
  }
  return out;
}

/** /proc/vmstat → every "name value" line. */
export function parseVmstat(text: string): [string, number][] {
  return text.split("\n").filter(Boolean).map((l) => {
    const [k, v] = l.trim().split(/\s+/);
    return [k!, Number(v)] as [string, number];
  }).filter(([k, v]) => k !== "" && Number.isFinite(v));
}

/** Kata's meminfo items and the /proc/meminfo keys they come from; absent keys are 0, as in Kata. */
const MEMINFO: [string, string][] = [
  ["mem_total", "MemTotal"], ["mem_free", "MemFree"], ["mem_available", "MemAvailable"], ["buffers", "Buffers"],
  ["cached", "Cached"], ["swap_cached", "SwapCached"], ["active", "Active"], ["inactive", "Inactive"],
  ["active_anon", "Active(anon)"], ["inactive_anon", "Inactive(anon)"], ["active_file", "Active(file)"],
  ["inactive_file", "Inactive(file)"], ["unevictable", "Unevictable"], ["mlocked", "Mlocked"],
  ["high_total", "HighTotal"], ["high_free", "HighFree"], ["low_total", "LowTotal"], ["low_free", "LowFree"],
  ["mmap_copy", "MmapCopy"], ["swap_total", "SwapTotal"], ["swap_free", "SwapFree"], ["dirty", "Dirty"],
  ["writeback", "Writeback"], ["anon_pages", "AnonPages"], ["mapped", "Mapped"], ["shmem", "Shmem"], ["slab", "Slab"],
  ["s_reclaimable", "SReclaimable"], ["s_unreclaim", "SUnreclaim"], ["kernel_stack", "KernelStack"],
  ["page_tables", "PageTables"], ["quicklists", "Quicklists"], ["nfs_unstable", "NFS_Unstable"], ["bounce", "Bounce"],
  ["writeback_tmp", "WritebackTmp"], ["commit_limit", "CommitLimit"], ["committed_as", "Committed_AS"],
  ["vmalloc_total", "VmallocTotal"], ["vmalloc_used", "VmallocUsed"], ["vmalloc_chunk", "VmallocChunk"],
  ["hardware_corrupted", "HardwareCorrupted"], ["anon_hugepages", "AnonHugePages"], ["shmem_hugepages", "ShmemHugePages"],
  ["shmem_pmd_mapped", "ShmemPmdMapped"], ["cma_total", "CmaTotal"], ["cma_free", "CmaFree"],
  ["hugepages_total", "HugePages_Total"], ["hugepages_free", "HugePages_Free"], ["hugepages_rsvd", "HugePages_Rsvd"],
  ["hugepages_surp", "HugePages_Surp"], ["hugepagesize", "Hugepagesize"], ["direct_map_4k", "DirectMap4k"],
  ["direct_map_4M", "DirectMap4M"], ["direct_map_2M", "DirectMap2M"], ["direct_map_1G", "DirectMap1G"],
  ["hugetlb", "Hugetlb"], ["per_cpu", "Percpu"], ["k_reclaimable", "KReclaimable"],
];

/** "Key: value [kB]" lines → key → value (kB converted to bytes when `kbToBytes`). */
export function parseKeyed(text: string, kbToBytes: boolean): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([^:]+):\s+(\d+)(\s+kB)?\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (m[3] && kbToBytes ? 1024 : 1));
  }
  return out;
}

export function parseMeminfo(text: string): [string, number][] {
  const v = parseKeyed(text, true);
  return MEMINFO.map(([item, key]) => [item, v.get(key) ?? 0]);
}

const DISK_ITEMS = [
  "reads", "merged", "sectors_read", "time_reading", "writes", "writes_merged", "sectors_written", "time_writing",
  "in_progress", "time_in_progress", "weighted_time_in_progress", "discards", "discards_merged", "sectors_discarded",
  "time_discarding", "flushes", "time_flushing",
];

/** /proc/diskstats → [disk, item, value]; fields a kernel lacks (discards < 4.18, flushes < 5.5) are 0. */
export function parseDiskstats(text: string): [string, string, number][] {
  const out: [string, string, number][] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const name = f[2]!;
    DISK_ITEMS.forEach((item, i) => out.push([name, item, Number(f[3 + i] ?? 0) || 0]));
  }
  return out;
}

const NETDEV_ITEMS = [
  "recv_bytes", "recv_packets", "recv_errs", "recv_drop", "recv_fifo", "recv_frame", "recv_compressed", "recv_multicast",
  "sent_bytes", "sent_packets", "sent_errs", "sent_drop", "sent_fifo", "sent_colls", "sent_carrier", "sent_compressed",
];

/** /proc/net/dev → [interface, item, value]. */
export function parseNetDev(text: string): [string, string, number][] {
  const out: [string, string, number][] = [];
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    NETDEV_ITEMS.forEach((item, i) => out.push([name, item, f[i] ?? 0]));
  }
  return out;
}

/** /proc/self/stat fields after the command: index 0 is the state (field 3). */
export function parseProcStat(text: string): { utime: number; stime: number; cutime: number; cstime: number; threads: number; vsize: number; rss: number } {
  const f = text.slice(text.lastIndexOf(")") + 2).trim().split(/\s+/);
  const n = (field: number) => Number(f[field - 3] ?? 0);
  return { utime: n(14), stime: n(15), cutime: n(16), cstime: n(17), threads: n(20), vsize: n(23), rss: n(24) };
}

const STATUS_ITEMS: [string, string][] = [
  ["vmpeak", "VmPeak"], ["vmsize", "VmSize"], ["vmlck", "VmLck"], ["vmpin", "VmPin"], ["vmhwm", "VmHWM"], ["vmrss", "VmRSS"],
  ["rssanon", "RssAnon"], ["rssfile", "RssFile"], ["rssshmem", "RssShmem"], ["vmdata", "VmData"], ["vmstk", "VmStk"],
  ["vmexe", "VmExe"], ["vmlib", "VmLib"], ["vmpte", "VmPTE"], ["vmswap", "VmSwap"], ["hugetlbpages", "HugetlbPages"],
  ["voluntary_ctxt_switches", "voluntary_ctxt_switches"], ["nonvoluntary_ctxt_switches", "nonvoluntary_ctxt_switches"],
];

/** /proc/self/status → Kata's proc_status items (kB as the file has them). */
export function parseProcStatus(text: string): [string, number][] {
  const v = parseKeyed(text, false);
  return STATUS_ITEMS.map(([item, key]) => [item, v.get(key) ?? 0]);
}

const IO_ITEMS = ["rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes", "cancelled_write_bytes"];

/** /proc/self/io → Kata's io_stat items. */
export function parseProcIo(text: string): [string, number][] {
  const v = parseKeyed(text, false);
  return IO_ITEMS.map((k) => [k, v.get(k) ?? 0]);
}

/** The filesystems Kata reports usage for. */
export const REAL_FS_TYPES = ["ext4", "xfs", "btrfs", "vfat", "overlay"];

export interface FsMount {
  mountPoint: string;
  device: string;
  majmin: string;
}

/** /proc/self/mountinfo → writable mounts of real filesystems, one per device (Kata's rules). */
export function realFilesystems(mountinfo: string): FsMount[] {
  const seen = new Set<string>();
  const out: FsMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const dash = line.indexOf(" - ");
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(" ");
    const [fstype, source, superOpts] = line.slice(dash + 3).split(" ");
    if (!fstype || !REAL_FS_TYPES.includes(fstype)) continue;
    if ((superOpts ?? "").split(",").includes("ro")) continue;
    const majmin = pre[2] ?? "";
    if (seen.has(majmin)) continue;
    seen.add(majmin);
    const mountPoint = unescapeMountinfo(pre[4] ?? "");
    const device = source ? unescapeMountinfo(source).split("/").pop() || majmin : majmin;
    out.push({ mountPoint, device, majmin });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
