// The statistics the managers return: a plain object shaped like agent.proto's CgroupStats, with its
// snake_case field names, ready to encode as a CgroupStats. All counters are numbers (uint64 in the
// proto); values above 2^53 lose precision, which no real counter reaches. Also the small parsers
// for the cgroupfs file formats, shared by v1 and v2.

export interface CpuUsage {
  /** Nanoseconds. */
  total_usage: number;
  percpu_usage: number[];
  usage_in_kernelmode: number;
  usage_in_usermode: number;
}

export interface ThrottlingData {
  periods: number;
  throttled_periods: number;
  /** Nanoseconds. */
  throttled_time: number;
}

export interface CpuStats {
  cpu_usage: CpuUsage;
  throttling_data: ThrottlingData;
}

export interface MemoryData {
  usage: number;
  max_usage: number;
  failcnt: number;
  /** 0 = no limit. */
  limit: number;
}

export interface MemoryStats {
  cache: number;
  usage: MemoryData;
  swap_usage: MemoryData;
  kernel_usage: MemoryData;
  use_hierarchy: boolean;
  stats: Record<string, number>;
}

export interface PidsStats {
  current: number;
  /** 0 = no limit. */
  limit: number;
}

export interface BlkioStatsEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface BlkioStats {
  io_service_bytes_recursive: BlkioStatsEntry[];
  io_serviced_recursive: BlkioStatsEntry[];
  io_queued_recursive: BlkioStatsEntry[];
  io_service_time_recursive: BlkioStatsEntry[];
  io_wait_time_recursive: BlkioStatsEntry[];
  io_merged_recursive: BlkioStatsEntry[];
  io_time_recursive: BlkioStatsEntry[];
  sectors_recursive: BlkioStatsEntry[];
}

export interface HugetlbStats {
  usage: number;
  max_usage: number;
  failcnt: number;
}

export interface CgroupStats {
  cpu_stats: CpuStats;
  memory_stats: MemoryStats;
  pids_stats: PidsStats;
  blkio_stats: BlkioStats;
  /** Keyed by page size as in the file names ("2MB"). */
  hugetlb_stats: Record<string, HugetlbStats>;
}

export function emptyMemoryData(): MemoryData {
  return { usage: 0, max_usage: 0, failcnt: 0, limit: 0 };
}

export function emptyBlkioStats(): BlkioStats {
  return {
    io_service_bytes_recursive: [],
    io_serviced_recursive: [],
    io_queued_recursive: [],
    io_service_time_recursive: [],
    io_wait_time_recursive: [],
    io_merged_recursive: [],
    io_time_recursive: [],
    sectors_recursive: [],
  };
}

export function emptyStats(): CgroupStats {
  return {
    cpu_stats: {
      cpu_usage: { total_usage: 0, percpu_usage: [], usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    },
    memory_stats: {
      cache: 0,
      usage: emptyMemoryData(),
      swap_usage: emptyMemoryData(),
      kernel_usage: emptyMemoryData(),
      use_hierarchy: false,
      stats: {},
    },
    pids_stats: { current: 0, limit: 0 },
    blkio_stats: emptyBlkioStats(),
    hugetlb_stats: {},
  };
}

/** A single number; "max" (no limit) and anything unparsable give 0. */
export function parseUint(text: string | undefined): number {
  if (text === undefined) return 0;
  const t = text.trim();
  if (t === "" || t === "max") return 0;
  const n = Number(t);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, ...) → map; non-numeric lines skipped. */
export function parseFlatKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!text) return out;
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2) continue;
    const n = Number(parts[1]);
    if (parts[1] !== "" && Number.isFinite(n)) out[parts[0]!] = n;
  }
  return out;
}

/** Whitespace-separated numbers ("123 456 789", cpuacct.usage_percpu). */
export function parseNumberList(text: string | undefined): number[] {
  if (!text) return [];
  return text.trim().split(/\s+/).filter((w) => /^\d+$/.test(w)).map(Number);
}

function splitDevice(dev: string): [number, number] | undefined {
  const m = /^(\d+):(\d+)$/.exec(dev);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * v1 blkio per-operation files: "8:0 Read 1282048" lines (and a final "Total N" line, skipped).
 * Operation names are lower-cased like Kata's agent reports them ("read", "write", "sync", ...).
 */
export function parseBlkioOps(text: string | undefined): BlkioStatsEntry[] {
  const out: BlkioStatsEntry[] = [];
  if (!text) return out;
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue;
    const dev = splitDevice(parts[0]!);
    if (!dev) continue;
    out.push({ major: dev[0], minor: dev[1], op: parts[1]!.toLowerCase(), value: parseUint(parts[2]) });
  }
  return out;
}

/** v1 blkio files without an operation ("8:0 6792"): op is empty. */
export function parseBlkioPlain(text: string | undefined): BlkioStatsEntry[] {
  const out: BlkioStatsEntry[] = [];
  if (!text) return out;
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2) continue;
    const dev = splitDevice(parts[0]!);
    if (!dev) continue;
    out.push({ major: dev[0], minor: dev[1], op: "", value: parseUint(parts[1]) });
  }
  return out;
}

/**
 * v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6". Kata's agent reports each
 * key as one entry of io_service_bytes_recursive with op read/write/rios/wios/dbytes/dios.
 */
export function parseIoStat(text: string | undefined): BlkioStatsEntry[] {
  const OPS: Record<string, string> = { rbytes: "read", wbytes: "write", rios: "rios", wios: "wios", dbytes: "dbytes", dios: "dios" };
  const out: BlkioStatsEntry[] = [];
  if (!text) return out;
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    const dev = splitDevice(parts[0] ?? "");
    if (!dev) continue;
    for (const kv of parts.slice(1)) {
      const [k, v] = kv.split("=");
      const op = OPS[k ?? ""];
      if (op) out.push({ major: dev[0], minor: dev[1], op, value: parseUint(v) });
    }
  }
  return out;
}
