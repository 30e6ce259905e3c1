// GetMetrics' pieces: the /proc parsers on fixed texts, the encoder, and the strict exposition
// parser the integration tests check the agent's output with (which must reject bad input).
import { expect, test } from "bun:test";
import { AgentStats } from "../../src/metrics/agent-stats.ts";
import { gatherMetrics } from "../../src/metrics/collect.ts";
import { encode } from "../../src/metrics/exposition.ts";
import {
  parseCpuTimes, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcIo, parseProcStat, parseProcStatus, realFilesystems,
} from "../../src/metrics/proc-parse.ts";
import { ExpositionError, KATA_FAMILIES, parseExposition } from "../helpers/prom-parse.ts";
import { readFileSync } from "node:fs";

test("the strict parser rejects what the format forbids", () => {
  const bad = [
    "m 1", // no final newline
    "1m 1\n",
    'm{a="1",a="2"} 1\n',
    'm{a="\\t"} 1\n',
    "m{a=1} 1\n",
    'm{__x="1"} 1\n',
    "m one\n",
    "m 1 2 3\n",
    "m 1\nm 2\n",
    "# TYPE m gauge\nm 1\n# TYPE m gauge\n",
    "m 1\n# TYPE m gauge\n",
    "# TYPE m sometimes\n",
    "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x=\"y\"} 2\n",
    "# TYPE c counter\nc -1\n",
    "# HELP m a\n# HELP m b\n",
    'm{a="x"}1\n',
  ];
  for (const t of bad) expect(() => parseExposition(t), JSON.stringify(t)).toThrow(ExpositionError);
  const ok = parseExposition('# HELP m Help with \\\\ and \\n.\n# TYPE m gauge\nm{a="q\\"uote",b="x\\\\y"} +Inf\nm{a="2",} -1.5e3 1700000000000\n\n# a comment\n');
  expect(ok.get("m")!.help).toBe("Help with \\ and \n.");
  expect(ok.get("m")!.samples[0]!.labels).toEqual({ a: 'q"uote', b: "x\\y" });
  expect(ok.get("m")!.samples[1]!.value).toBe(-1500);
});

test("the encoder sorts families and samples, escapes label values, and parses back", () => {
  const text = encode([
    { name: "z_g", help: "second", type: "gauge", samples: [{ labels: [["item", "b"]], value: 2 }, { labels: [["item", 'a"\n\\']], value: 0.5 }] },
    { name: "a_c", help: "first\\one", type: "counter", samples: [{ labels: [], value: 3 }] },
    { name: "empty", help: "x", type: "gauge", samples: [] },
  ]);
  expect(text).toBe('# HELP a_c first\\\\one\n# TYPE a_c counter\na_c 3\n# HELP z_g second\n# TYPE z_g gauge\nz_g{item="a\\"\\n\\\\"} 0.5\nz_g{item="b"} 2\n');
  const f = parseExposition(text);
  expect(f.get("z_g")!.samples.map((s) => s.labels.item)).toEqual(['a"\n\\', "b"]);
  expect(() => encode([{ name: "bad-name", help: "", type: "gauge", samples: [{ labels: [], value: 1 }] }])).toThrow(/bad metric name/);
});

test("/proc parsers give Kata's items and units", () => {
  expect(parseLoadavg("0.52 0.58 0.59 3/467 12345\n")).toEqual({
    load: [["load1", 0.52], ["load5", 0.58], ["load15", 0.59]], tasks: [["cur", 3], ["max", 467]],
  });
  const cpu = parseCpuTimes("cpu  100 2 30 4000 5 0 6 0 0 0\ncpu0 50 1 15 2000 2 0 3 0 0 0\nintr 1 2\n", 100);
  expect(cpu).toContainEqual(["total", "user", 1000]);
  expect(cpu).toContainEqual(["0", "idle", 20000]);
  expect(cpu.length).toBe(20);
  const mem = new Map(parseMeminfo("MemTotal:        2048 kB\nHugePages_Total:       3\nDirectMap2M:  4 kB\n"));
  expect(mem.get("mem_total")).toBe(2048 * 1024);
  expect(mem.get("hugepages_total")).toBe(3);
  expect(mem.get("direct_map_2M")).toBe(4096);
  expect(mem.get("mem_free")).toBe(0);
  expect(mem.size).toBe(58);
  const disk = parseDiskstats("   7       0 loop0 10 0 20 3 0 0 0 0 0 4 3\n 254 0 vda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n");
  expect(disk).toContainEqual(["loop0", "reads", 10]);
  expect(disk).toContainEqual(["loop0", "discards", 0]);
  expect(disk).toContainEqual(["vda", "time_flushing", 17]);
  const net = parseNetDev("Inter-|   Receive\n face |bytes\n    lo: 100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
  expect(net).toContainEqual(["eth0", "recv_multicast", 8]);
  expect(net).toContainEqual(["eth0", "sent_compressed", 16]);
  const st = parseProcStat("42 (kata agent) S 1 42 42 0 -1 4194560 1 0 0 0 7 3 1 2 20 0 9 0 100 123456 789 18446744073709551615\n");
  expect(st).toEqual({ utime: 7, stime: 3, cutime: 1, cstime: 2, threads: 9, vsize: 123456, rss: 789 });
  expect(new Map(parseProcStatus("VmRSS:\t  1234 kB\nvoluntary_ctxt_switches:\t5\n")).get("vmrss")).toBe(1234);
  expect(new Map(parseProcIo("rchar: 10\nwchar: 20\n")).get("wchar")).toBe(20);
  const fs = realFilesystems(
    "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n" +
    "23 22 254:1 /x /mnt/x rw - ext4 /dev/vda1 rw\n" +
    "24 22 254:2 / /ro rw - xfs /dev/vdb ro\n" +
    "25 22 0:30 / /run rw - tmpfs tmpfs rw\n" +
    "26 22 0:40 / /my\\040dir rw - overlay overlay rw,lowerdir=/a\n",
  );
  expect(fs).toEqual([{ mountPoint: "/", device: "vda1", majmin: "254:1" }, { mountPoint: "/my dir", device: "overlay", majmin: "0:40" }]);
});

test("a scrape of this process carries Kata's families and ours, strictly well-formed", () => {
  const stats = new AgentStats();
  stats.recordCall("grpc.AgentService/CreateContainer", 0);
  stats.recordCall("grpc.AgentService/CreateContainer", 0);
  stats.recordCall("grpc.AgentService/Foo", 12);
  stats.connections = () => 2;
  const first = parseExposition(gatherMetrics({ stats, containers: () => 3 }));
  const second = parseExposition(gatherMetrics({ stats, containers: () => 3 }));
  const haveFs = realFilesystems(readFileSync("/proc/self/mountinfo", "utf8")).length > 0;
  for (const name of KATA_FAMILIES) {
    if (!haveFs && name.startsWith("kata_guest_filesystem")) continue;
    expect(second.get(name), name).toBeDefined();
    expect(second.get(name)!.samples.length, name).toBeGreaterThan(0);
  }
  expect(second.get("kata_agent_scrape_count")!.type).toBe("counter");
  expect(second.get("kata_agent_scrape_count")!.samples[0]!.value).toBe(first.get("kata_agent_scrape_count")!.samples[0]!.value + 1);
  expect(second.get("kata_guest_meminfo")!.samples.find((s) => s.labels.item === "mem_total")!.value).toBeGreaterThan(1 << 20);
  expect(second.get("kata_guest_cpu_time")!.samples.some((s) => s.labels.cpu === "total" && s.labels.item === "user")).toBe(true);
  expect(second.get("kata_agent_threads")!.samples[0]!.value).toBeGreaterThan(0);
  const calls = second.get("kata_agent_ts_rpc_calls_total")!;
  expect(calls.type).toBe("counter");
  expect(calls.samples).toContainEqual({ name: "kata_agent_ts_rpc_calls_total", labels: { method: "grpc.AgentService/CreateContainer", code: "OK" }, value: 2, timestamp: undefined });
  expect(calls.samples).toContainEqual({ name: "kata_agent_ts_rpc_calls_total", labels: { method: "grpc.AgentService/Foo", code: "UNIMPLEMENTED" }, value: 1, timestamp: undefined });
  expect(second.get("kata_agent_ts_containers")!.samples[0]!.value).toBe(3);
  expect(second.get("kata_agent_ts_ttrpc_connections")!.samples[0]!.value).toBe(2);
});
