// 5. Start-to-ready, 6. idle memory and growth after many lifecycles, 7. binary size.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeAgentSpec } from "../lib/bundle.ts";
import type { BenchContext } from "../lib/context.ts";
import { MiB, pick } from "../lib/context.ts";
import { fdCount, GUEST_ENV, memoryOf, runJson, startAgent, startGoServer, threadCount, writeAgentConfig, type Memory } from "../lib/procs.ts";
import type { Row } from "../lib/report.ts";
import { interleave, median, p99 } from "../lib/stats.ts";
import { buildFloorServer } from "../lib/floor.ts";

interface Samples {
  samples_us: number[];
}

/** exec → first Check answered, timed by bench-client (waits for the socket with inotify, then one Check). */
export async function startupRows(ctx: BenchContext): Promise<Row[]> {
  const dir = join(ctx.work, "startup");
  mkdirSync(dir, { recursive: true });
  const agentSock = join(dir, "agent.sock");
  const config = writeAgentConfig(dir, agentSock);
  const goSock = join(dir, "go.sock");
  const floorSock = join(dir, "floor.sock");
  const floor = buildFloorServer(ctx.work);
  const rounds = pick(ctx, 5, 10);
  const perRound = pick(ctx, 3, 10);
  const ours: number[] = [];
  const theirs: number[] = [];
  const bun: number[] = [];
  ctx.progress(`start-to-ready: ${rounds} rounds × ${perRound}`);
  const startup = (sock: string, argv: string[]) => runJson<Samples>([ctx.go.client, "startup", "-addr", `unix://${sock}`, "-n", String(perRound), "--", ...argv]);
  await interleave(rounds, [
    async () => void ours.push(...(await startup(agentSock, [ctx.agentBin, "--config", config])).samples_us),
    async () => void theirs.push(...(await startup(goSock, [ctx.go.server, "-addr", `unix://${goSock}`])).samples_us),
    async () => void bun.push(...(await startup(floorSock, [floor, `unix:${floorSock}`])).samples_us),
  ]);
  return [{
    id: "start_to_ready", what: "start-to-ready (exec → Check answered)", unit: "ms", value: median(ours) / 1000, anchor: median(theirs) / 1000,
    anchorName: "Go ttRPC server", target: { kind: "absolute", better: "lower", limit: 8 },
    detail: { rounds, perRound, oursP99Ms: p99(ours) / 1000, anchorP99Ms: p99(theirs) / 1000 },
  }, {
    id: "start_to_ready_bun_floor", what: "  same, against the least a Bun program can do", unit: "ms", value: median(ours) / 1000, anchor: median(bun) / 1000,
    anchorName: "minimal Bun Check server (bench/floor)",
    note: "the floor answers every frame with SERVING from one Bun.listen: what is left above it is the agent's own start-up",
    detail: { floorP99Ms: p99(bun) / 1000 },
  }];
}

const mib = (kib: number) => kib / 1024;

type IdleReading = Memory & { fds: number; threads: number };

/** Memory of a freshly started server after one Check: 1 s after it (the agent's idle GC has run)
 *  and 11 s after it (it has also run its idle shrink, src/idle-gc.ts). */
async function idleMemory(ctx: BenchContext, start: () => Promise<{ pid: number; address: string; stop(): Promise<void> }>): Promise<{ early: IdleReading; settled: IdleReading }> {
  const s = await start();
  const read = (): IdleReading => ({ ...memoryOf(s.pid), fds: fdCount(s.pid), threads: threadCount(s.pid) });
  try {
    await runJson([ctx.go.client, "check", "-addr", s.address, "-inflight", "1", "-calls", "1", "-warmup", "0"]);
    await Bun.sleep(1000);
    const early = read();
    await Bun.sleep(SHRINK_SETTLE_MS);
    return { early, settled: read() };
  } finally {
    await s.stop();
  }
}

export async function memoryRows(ctx: BenchContext): Promise<Row[]> {
  const dir = join(ctx.work, "memory");
  const samples = pick(ctx, 1, 3);
  type Idle = Awaited<ReturnType<typeof idleMemory>>;
  const plain: Idle[] = [];
  const guest: Idle[] = [];
  const theirs: Idle[] = [];
  ctx.progress(`idle memory: ${samples} fresh start(s) each of the agent, the agent in the guest environment, the Go server; read 1 s and 11 s after one Check`);
  await interleave(samples, [
    async () => void plain.push(await idleMemory(ctx, () => startAgent(ctx.agentBin, dir))),
    async () => void guest.push(await idleMemory(ctx, () => startAgent(ctx.agentBin, dir, "agent-guest-env", "", [], GUEST_ENV))),
    async () => void theirs.push(await idleMemory(ctx, () => startGoServer(ctx.go.server, dir))),
  ]);
  const med = (xs: Idle[], f: (m: Idle) => number) => mib(median(xs.map(f)));
  const envText = Object.entries(GUEST_ENV).map(([k, v]) => `${k}=${v}`).join(" ");
  const go = { anchorName: "Go ttRPC server" };
  return [
    { id: "idle_rss", what: "idle RSS total (VmRSS)", unit: "MiB", value: med(plain, (m) => m.early.rssKiB), anchor: med(theirs, (m) => m.early.rssKiB),
      ...go, target: { kind: "absolute", better: "lower", limit: 45 }, detail: { plain, guest, go: theirs } },
    { id: "idle_anon", what: "idle RSS anonymous (RssAnon), 1 s after", unit: "MiB", value: med(plain, (m) => m.early.anonKiB), anchor: med(theirs, (m) => m.early.anonKiB), ...go },
    { id: "idle_anon_guest", what: "same, guest environment", unit: "MiB", value: med(guest, (m) => m.early.anonKiB), anchor: med(theirs, (m) => m.early.anonKiB), ...go,
      note: `${envText} (osbuilder-hook's init shim and systemd unit)` },
    { id: "idle_anon_settled", what: "idle RSS anonymous, 11 s after (idle shrink done)", unit: "MiB", value: med(plain, (m) => m.settled.anonKiB), anchor: med(theirs, (m) => m.settled.anonKiB), ...go },
    // The target: the agent as a pod VM runs it (the hook's environment), once it has settled.
    { id: "idle_anon_settled_guest", what: "same, guest environment", unit: "MiB", value: med(guest, (m) => m.settled.anonKiB), anchor: med(theirs, (m) => m.settled.anonKiB), ...go,
      target: { kind: "absolute", better: "lower", limit: 4 }, note: `${envText}; the agent as a pod VM runs it, settled` },
    { id: "idle_pss", what: "idle PSS (smaps_rollup)", unit: "MiB", value: med(plain, (m) => m.early.pssKiB), anchor: med(theirs, (m) => m.early.pssKiB), ...go },
    ...(await growthRows(ctx, dir)),
  ];
}

/** How long after its last call the agent has certainly run its idle shrink (10 s, src/idle-gc.ts). */
const SHRINK_SETTLE_MS = 10_500;

interface Growth {
  total: number;
  warm: number;
  detail: Record<string, unknown>;
  beforeSettled: Memory;
  afterSettled: Memory;
  before: Memory;
  after: Memory;
  fdsBefore: number;
  fdsAfter: number;
}

/** RSS and open fds of one agent before and after N container lifecycles. */
async function measureGrowth(ctx: BenchContext, dir: string, name: string, env: Readonly<Record<string, string>> = {}): Promise<Growth> {
  const total = pick(ctx, 300, 10_000);
  const warm = pick(ctx, 30, 200);
  const chunk = 1000;
  const spec = writeAgentSpec(join(dir, "true.pb"), ctx.rootfs, ["/bin/true"]);
  const agent = await startAgent(ctx.agentBin, dir, name, "", [], env);
  try {
    const atStart = memoryOf(agent.pid);
    const fdsAtStart = fdCount(agent.pid);
    ctx.progress(`growth (${name}): ${warm} warm-up + ${total} lifecycles`);
    await runJson([ctx.go.client, "lifecycle", "-addr", agent.address, "-spec", spec, "-n", String(warm), "-id", "warm"]);
    // Two settled states (src/idle-gc.ts): 1 s after the last call the idle GC has run; 11 s
    // after it the agent has also dropped JIT code and caches. Growth is compared like for like.
    await Bun.sleep(1000);
    const before = memoryOf(agent.pid);
    const fdsBefore = fdCount(agent.pid);
    await Bun.sleep(SHRINK_SETTLE_MS);
    const beforeSettled = memoryOf(agent.pid);
    const t0 = performance.now();
    const medians: number[] = [];
    for (let done = 0, i = 0; done < total; i++) {
      const n = Math.min(chunk, total - done);
      const r = await runJson<Samples>([ctx.go.client, "lifecycle", "-addr", agent.address, "-spec", spec, "-n", String(n), "-id", `g${i}`], 1_800_000);
      medians.push(median(r.samples_us) / 1000);
      done += n;
      if (!ctx.quick) ctx.progress(`growth (${name}): ${done}/${total}, RSS ${mib(memoryOf(agent.pid).rssKiB).toFixed(1)} MiB, fds ${fdCount(agent.pid)}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    await Bun.sleep(1000);
    const after = memoryOf(agent.pid);
    const fdsAfter = fdCount(agent.pid);
    await Bun.sleep(SHRINK_SETTLE_MS);
    const afterSettled = memoryOf(agent.pid);
    const detail = { lifecycles: total, warmup: warm, seconds, chunkMedianMs: medians, env, atStart, fdsAtStart, before, fdsBefore, after, fdsAfter, beforeSettled, afterSettled };
    return { total, warm, detail, beforeSettled, afterSettled, before, after, fdsBefore, fdsAfter };
  } finally {
    await agent.stop();
  }
}

/** The plain binary's growth (the target rows), then the same run with the guest's environment. */
async function growthRows(ctx: BenchContext, dir: string): Promise<Row[]> {
  const g = await measureGrowth(ctx, dir, "growth");
  const { total, warm } = g;
  const guest = await measureGrowth(ctx, dir, "growth-guest-env", GUEST_ENV);
  const envText = Object.entries(GUEST_ENV).map(([k, v]) => `${k}=${v}`).join(" ");
  return [
    { id: "growth_rss", what: `RSS growth over ${total} lifecycles (settled)`, unit: "MiB", value: mib(g.afterSettled.rssKiB - g.beforeSettled.rssKiB), anchor: null, anchorName: "",
      target: { kind: "absolute", better: "lower", limit: 2 },
      note: `RSS ${mib(g.beforeSettled.rssKiB).toFixed(1)} → ${mib(g.afterSettled.rssKiB).toFixed(1)} MiB, each 11 s after the last call (after ${warm} warm-up lifecycles)`, detail: g.detail },
    { id: "growth_anon", what: `anon RSS growth over ${total} lifecycles (settled)`, unit: "MiB", value: mib(g.afterSettled.anonKiB - g.beforeSettled.anonKiB), anchor: null, anchorName: "" },
    { id: "growth_rss_1s", what: `RSS growth over ${total} lifecycles, 1 s after`, unit: "MiB", value: mib(g.after.rssKiB - g.before.rssKiB), anchor: null, anchorName: "",
      note: `RSS ${mib(g.before.rssKiB).toFixed(1)} → ${mib(g.after.rssKiB).toFixed(1)} MiB, each 1 s after the last call (idle GC only, JIT code kept)` },
    { id: "growth_fds", what: `open fd growth over ${total} lifecycles`, unit: "fds", value: g.fdsAfter - g.fdsBefore, anchor: null, anchorName: "",
      target: { kind: "absolute", better: "lower", limit: 0 }, note: `${g.fdsBefore} → ${g.fdsAfter}` },
    { id: "growth_rss_guest_env", what: `  same, guest environment: RSS growth (settled)`, unit: "MiB", value: mib(guest.afterSettled.rssKiB - guest.beforeSettled.rssKiB), anchor: null, anchorName: "",
      note: `${envText} (osbuilder-hook's init shim and systemd unit): RSS ${mib(guest.beforeSettled.rssKiB).toFixed(1)} → ${mib(guest.afterSettled.rssKiB).toFixed(1)} MiB`, detail: guest.detail },
    { id: "settled_rss_guest_env", what: `  settled RSS after ${total} lifecycles, guest environment vs plain`, unit: "MiB", value: mib(guest.afterSettled.rssKiB),
      anchor: mib(g.afterSettled.rssKiB), anchorName: "the same binary without it",
      note: `anonymous ${mib(guest.afterSettled.anonKiB).toFixed(1)} vs ${mib(g.afterSettled.anonKiB).toFixed(1)} MiB` },
  ];
}

/** Raw and `xz -T0 -6` size; the xz figure is cached per binary content, since it takes ~45 s here. */
export async function sizeRows(ctx: BenchContext): Promise<Row[]> {
  const st = statSync(ctx.agentBin);
  const cache = join(ctx.work, "..", "xz-size.json");
  const key = `${st.size}:${Bun.hash(readFileSync(ctx.agentBin)).toString(16)}`;
  let xz: number | undefined;
  if (existsSync(cache)) {
    const c = JSON.parse(readFileSync(cache, "utf8")) as { key: string; xz: number };
    if (c.key === key) xz = c.xz;
  }
  if (xz === undefined && Bun.which("xz")) {
    ctx.progress("size: xz -T0 -6 of the binary");
    const p = Bun.spawn(["xz", "-T0", "-6", "-c", ctx.agentBin], { stdout: "pipe", stderr: "inherit" });
    let n = 0;
    for await (const chunk of p.stdout) n += chunk.length;
    if ((await p.exited) === 0) {
      xz = n;
      writeFileSync(cache, JSON.stringify({ key, xz }));
    }
  }
  return [
    { id: "size_raw", what: "binary size", unit: "MiB", value: st.size / MiB, anchor: null, anchorName: "" },
    { id: "size_xz", what: "binary size, xz -T0 -6", unit: "MiB", value: xz === undefined ? null : xz / MiB, anchor: null, anchorName: "",
      na: xz === undefined ? "xz not installed" : undefined },
  ];
}
