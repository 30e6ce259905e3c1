// GetMetrics: the agent's and the guest's metrics in the Prometheus text format, with the names,
// help texts and labels of Kata's agent (src/agent/src/metrics.rs), plus this agent's own
// kata_agent_ts_* counters. A file that cannot be read leaves its metrics out (Kata logs and goes
// on); the scrape itself never fails for it.
import { readFileSync, statfsSync } from "node:fs";
import type { AgentStats } from "./agent-stats.ts";
import { encode, itemFamily, type Family } from "./exposition.ts";
import {
  parseCpuTimes, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcIo, parseProcStat, parseProcStatus,
  parseVmstat, realFilesystems,
} from "./proc-parse.ts";

/** USER_HZ: 100 on every architecture Kata supports. */
const TICKS_PER_SECOND = 100;
const AT_PAGESZ = 6n;

export interface MetricsSource {
  stats: AgentStats;
  /** Containers the sandbox holds now. */
  containers: () => number;
  /** Where /proc is (tests). */
  proc?: string;
  log?: { info(msg: string, f?: Record<string, unknown>): void };
}

let scrapes = 0;

function pageSize(proc: string): number {
  try {
    const auxv = readFileSync(`${proc}/self/auxv`);
    const v = new DataView(auxv.buffer, auxv.byteOffset, auxv.length);
    for (let i = 0; i + 16 <= auxv.length; i += 16) {
      if (v.getBigUint64(i, true) === AT_PAGESZ) return Number(v.getBigUint64(i + 8, true));
    }
  } catch {
    // fall through
  }
  return 4096;
}

function agentFamilies(proc: string, read: (f: string) => string | undefined): Family[] {
  const out: Family[] = [];
  const stat = read(`${proc}/self/stat`);
  if (stat !== undefined) {
    const s = parseProcStat(stat);
    out.push(
      { name: "kata_agent_threads", help: "Agent process threads", type: "gauge", samples: [{ labels: [], value: s.threads }] },
      { name: "kata_agent_total_time", help: "Agent process total time", type: "gauge", samples: [{ labels: [], value: (s.utime + s.stime) / TICKS_PER_SECOND }] },
      { name: "kata_agent_total_vm", help: "Agent process total VM size", type: "gauge", samples: [{ labels: [], value: s.vsize }] },
      { name: "kata_agent_total_rss", help: "Agent process total RSS size", type: "gauge", samples: [{ labels: [], value: s.rss * pageSize(proc) }] },
      itemFamily("kata_agent_proc_stat", "Agent process statistics.", [["utime", s.utime], ["stime", s.stime], ["cutime", s.cutime], ["cstime", s.cstime]]),
    );
  }
  const io = read(`${proc}/self/io`);
  if (io !== undefined) out.push(itemFamily("kata_agent_io_stat", "Agent process IO statistics.", parseProcIo(io)));
  const status = read(`${proc}/self/status`);
  if (status !== undefined) out.push(itemFamily("kata_agent_proc_status", "Agent process status.", parseProcStatus(status)));
  return out;
}

const two = (name: string, help: string, first: string, rows: [string, string, number][]): Family => ({
  name, help, type: "gauge", samples: rows.map(([a, item, value]) => ({ labels: [[first, a], ["item", item]], value })),
});

function guestFamilies(proc: string, read: (f: string) => string | undefined, log?: MetricsSource["log"]): Family[] {
  const out: Family[] = [];
  const loadavg = read(`${proc}/loadavg`);
  if (loadavg !== undefined) {
    const { load, tasks } = parseLoadavg(loadavg);
    out.push(itemFamily("kata_guest_load", "Guest system load.", load), itemFamily("kata_guest_tasks", "Guest system load.", tasks));
  }
  const disks = read(`${proc}/diskstats`);
  if (disks !== undefined) out.push(two("kata_guest_diskstat", "Disks statistics in system.", "disk", parseDiskstats(disks)));
  const vmstat = read(`${proc}/vmstat`);
  if (vmstat !== undefined) out.push(itemFamily("kata_guest_vm_stat", "Guest virtual memory statistics.", parseVmstat(vmstat)));
  const stat = read(`${proc}/stat`);
  if (stat !== undefined) out.push(two("kata_guest_cpu_time", "Guest CPU statistics.", "cpu", parseCpuTimes(stat, TICKS_PER_SECOND)));
  const netdev = read(`${proc}/net/dev`);
  if (netdev !== undefined) out.push(two("kata_guest_netdev_stat", "Guest net devices statistics.", "interface", parseNetDev(netdev)));
  const meminfo = read(`${proc}/meminfo`);
  if (meminfo !== undefined) out.push(itemFamily("kata_guest_meminfo", "Statistics about memory usage in the system.", parseMeminfo(meminfo)));

  const bytes: Family = { name: "kata_guest_filesystem_bytes", help: "Guest filesystem space usage in bytes.", type: "gauge", samples: [] };
  const inodes: Family = { name: "kata_guest_filesystem_inodes", help: "Guest filesystem inode usage.", type: "gauge", samples: [] };
  const mountinfo = read(`${proc}/self/mountinfo`);
  for (const m of mountinfo === undefined ? [] : realFilesystems(mountinfo)) {
    let st;
    try {
      st = statfsSync(m.mountPoint);
    } catch (e) {
      log?.info("statfs failed", { mount: m.mountPoint, error: (e as Error).message });
      continue;
    }
    // Kata counts f_bfree (not f_bavail) as available.
    const total = st.blocks * st.bsize;
    const available = st.bfree * st.bsize;
    const at = (item: string): [string, string][] => [["mount", m.mountPoint], ["device", m.device], ["item", item]];
    bytes.samples.push({ labels: at("total"), value: total }, { labels: at("used"), value: Math.max(0, total - available) }, { labels: at("available"), value: available });
    inodes.samples.push({ labels: at("total"), value: st.files }, { labels: at("used"), value: Math.max(0, st.files - st.ffree) }, { labels: at("available"), value: st.ffree });
  }
  out.push(bytes, inodes);
  return out;
}

function ownFamilies(src: MetricsSource): Family[] {
  return [
    {
      name: "kata_agent_ts_rpc_calls_total", help: "ttRPC calls answered, by method and status code.", type: "counter",
      samples: src.stats.callCounts().map(([method, code, n]) => ({ labels: [["method", method], ["code", code]], value: n })),
    },
    { name: "kata_agent_ts_containers", help: "Containers in the sandbox.", type: "gauge", samples: [{ labels: [], value: src.containers() }] },
    { name: "kata_agent_ts_ttrpc_connections", help: "Open ttRPC connections.", type: "gauge", samples: [{ labels: [], value: src.stats.connections() }] },
  ];
}

/** One scrape: every family, encoded. */
export function gatherMetrics(src: MetricsSource): string {
  const proc = src.proc ?? "/proc";
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(file, "utf8");
    } catch (e) {
      src.log?.info("metrics: cannot read", { file, error: (e as Error).message });
      return undefined;
    }
  };
  scrapes++;
  return encode([
    { name: "kata_agent_scrape_count", help: "Metrics scrape count", type: "counter", samples: [{ labels: [], value: scrapes }] },
    ...agentFamilies(proc, read),
    ...guestFamilies(proc, read, src.log),
    ...ownFamilies(src),
  ]);
}
