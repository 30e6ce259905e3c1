// OnlineCPUMem's rules (Kata's sandbox.rs) on a fake sysfs tree: CPU onlining with retries until
// the online list grows, memory blocks, the cpuset refresh of every cgroup level, the probe format.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cpuListCount, cpusetLevels, memHotplugByProbe, onlineCpuMem, onlineCpus, onlineMemory, refreshCpuset,
} from "../../src/guest/hotplug.ts";

let root = "";
const cpu = (...p: string[]) => join(root, "devices/system/cpu", ...p);
const mem = (...p: string[]) => join(root, "devices/system/memory", ...p);
const read = (p: string) => readFileSync(p, "utf8");

function put(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "hotplug-"));
  // cpu0 has no online file (the boot CPU), cpu1..cpu3 are offline, one is online.
  mkdirSync(cpu("cpu0"), { recursive: true });
  for (const n of [1, 2, 3]) put(cpu(`cpu${n}`, "online"), "0\n");
  put(cpu("online"), "0\n");
  put(cpu("possible"), "0-3\n");
  put(mem("memory0", "online"), "1\n");
  put(mem("memory1", "online"), "0\n");
  put(mem("memory12", "online"), "0\n");
  mkdirSync(mem("memory3"), { recursive: true }); // no online file: skipped
  put(mem("block_size_bytes"), "8000000\n");
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

test("cpu lists are counted like the kernel writes them", () => {
  expect(cpuListCount("0\n")).toBe(1);
  expect(cpuListCount("0-3,6,8-9")).toBe(7);
  expect(cpuListCount("")).toBe(0);
  expect(() => cpuListCount("0-x")).toThrow(/not a cpu or a range/);
  expect(() => cpuListCount("3-1")).toThrow(/reversed/);
});

test("onlineCpus onlines only the missing CPUs and retries while hot-plugged CPUs appear", async () => {
  rmSync(cpu("cpu2"), { recursive: true });
  rmSync(cpu("cpu3"), { recursive: true });
  let sleeps = 0;
  // The fake kernel: at each wait it publishes the online list from the cpuN/online files, and the
  // second hot-plugged CPU shows up (offline) only at the second wait.
  const env = {
    sysfs: root,
    sleep: async (ms: number) => {
      expect(ms).toBe(50);
      sleeps++;
      if (sleeps === 2) put(cpu("cpu2", "online"), "0\n");
      const up = [1, 2].filter((n) => { try { return read(cpu(`cpu${n}`, "online")).trim() === "1"; } catch { return false; } });
      writeFileSync(cpu("online"), up.length ? `0-${up.length}\n` : "0\n");
    },
  };
  expect(await onlineCpus(env, 3)).toBe(3);
  expect(sleeps).toBe(3);
  expect(read(cpu("cpu1", "online"))).toBe("1");
  expect(read(cpu("cpu2", "online"))).toBe("1");
});

test("onlineCpus onlines at most nb_cpus - online CPUs per pass", async () => {
  const env = { sysfs: root, retries: 1, sleep: async () => {} };
  await expect(onlineCpus(env, 2)).rejects.toThrow(/failed to online 2/);
  expect(read(cpu("cpu1", "online"))).toBe("1");
  expect(read(cpu("cpu2", "online"))).toBe("0\n");
});

test("onlineCpus does nothing when enough CPUs are online", async () => {
  writeFileSync(cpu("online"), "0-1\n");
  expect(await onlineCpus({ sysfs: root, sleep: async () => { throw new Error("must not wait"); } }, 2)).toBe(2);
  expect(read(cpu("cpu1", "online"))).toBe("0\n");
});

test("onlineCpus fails after the retries, naming the count", async () => {
  let sleeps = 0;
  const p = onlineCpus({ sysfs: root, retries: 4, sleep: async () => void sleeps++ }, 2);
  await expect(p).rejects.toThrow("failed to online 2 CPU(s) after 4 retries (1 online)");
  expect(sleeps).toBe(4);
});

test("onlineMemory onlines every offline block", async () => {
  expect(await onlineMemory({ sysfs: root })).toBe(2);
  expect(read(mem("memory1", "online"))).toBe("1");
  expect(read(mem("memory12", "online"))).toBe("1");
  expect(read(mem("memory0", "online"))).toBe("1\n");
  expect(await onlineMemory({ sysfs: root })).toBe(0);
});

function cgroupTree(): { cg: string; dir: string } {
  const cg = join(root, "cgroup/cpuset");
  const dir = join(cg, "kubepods/pod1/ctr");
  for (const d of [cg, join(cg, "kubepods"), join(cg, "kubepods/pod1"), dir]) put(join(d, "cpuset.cpus"), "0\n");
  return { cg, dir };
}

test("cpuset levels run from below the root down to the container", () => {
  expect(cpusetLevels("/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/cpuset/a/b")).toEqual(["/sys/fs/cgroup/cpuset/a", "/sys/fs/cgroup/cpuset/a/b"]);
  expect(cpusetLevels("/r", "/r")).toEqual([]);
  expect(cpusetLevels("/r", "/elsewhere")).toEqual([]);
});

test("refreshCpuset widens every level, then gives the container its own CPUs", () => {
  const { cg, dir } = cgroupTree();
  refreshCpuset("0-3", { id: "c", root: cg, dir, cpus: "2" });
  expect(read(join(cg, "cpuset.cpus"))).toBe("0\n"); // the root is not touched
  expect(read(join(cg, "kubepods/cpuset.cpus"))).toBe("0-3");
  expect(read(join(cg, "kubepods/pod1/cpuset.cpus"))).toBe("0-3");
  expect(read(join(dir, "cpuset.cpus"))).toBe("2");
  refreshCpuset("0-3", { id: "c", root: cg, dir, cpus: "" });
  expect(read(join(dir, "cpuset.cpus"))).toBe("0-3");
});

test("refreshCpuset skips levels without a cpuset.cpus file (v2 without the controller)", () => {
  const cg = join(root, "unified");
  const dir = join(cg, "a/b");
  mkdirSync(dir, { recursive: true });
  put(join(dir, "cpuset.cpus"), "\n");
  refreshCpuset("0-1", { id: "c", root: cg, dir, cpus: "" });
  expect(read(join(dir, "cpuset.cpus"))).toBe("0-1");
});

test("onlineCpuMem: CPUs, memory unless cpu_only, cpusets only when CPUs were asked for", async () => {
  const { cg, dir } = cgroupTree();
  const targets = () => [{ id: "c", root: cg, dir, cpus: "" }];
  const sleep = async () => void writeFileSync(cpu("online"), "0-1\n");
  await onlineCpuMem({ sysfs: root, sleep }, { nbCpus: 0, cpuOnly: true }, targets);
  expect(read(mem("memory1", "online"))).toBe("0\n");
  expect(read(join(dir, "cpuset.cpus"))).toBe("0\n");

  await onlineCpuMem({ sysfs: root, sleep }, { nbCpus: 0, cpuOnly: false }, targets);
  expect(read(mem("memory1", "online"))).toBe("1");
  expect(read(join(dir, "cpuset.cpus"))).toBe("0\n");

  await onlineCpuMem({ sysfs: root, sleep }, { nbCpus: 2, cpuOnly: true }, targets);
  expect(read(cpu("cpu1", "online"))).toBe("1");
  expect(read(join(cg, "kubepods/cpuset.cpus"))).toBe("0-1");
  expect(read(join(dir, "cpuset.cpus"))).toBe("0-1");
  await expect(onlineCpuMem({ sysfs: root }, { nbCpus: -1, cpuOnly: true }, targets)).rejects.toThrow(/nb_cpus -1/);
});

test("MemHotplugByProbe writes 0x + upper-case hex, and needs the probe file", async () => {
  await expect(memHotplugByProbe({ sysfs: root }, [0x1_0000_0000n])).rejects.toThrow(/probe does not exist/);
  put(mem("probe"), "");
  await memHotplugByProbe({ sysfs: root }, [0x1_0000_0000n, 0x1_4abc_0000n]);
  expect(read(mem("probe"))).toBe("0x14ABC0000");
  await memHotplugByProbe({ sysfs: root }, []);
});
