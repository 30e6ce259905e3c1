// The agent fuzz driver: many connections sending seeded random traffic — requests for every
// method with random or corrupted payloads, raw frames of every type, data frames, oversize
// headers, bad stream ids, and connections dropped in the middle of a frame — while a probe
// connection checks that the agent keeps answering. Reports crashes, hangs, status counts
// (UNKNOWN/INTERNAL are the interesting ones), RSS and fd counts before and after.
//
//   bun test/fuzz/driver.ts [--frames 1000000] [--seed 1] [--connections 16] [--containers 3]
// starts the built agent (dist/kata-agent) in a network namespace of its own (as root) and runs;
// with --containers N (root) the agent gets N running busybox containers that well-formed
// lifecycle calls (pause, exec, kill, remove, ...) are aimed at among the noise;
// test/integration/fuzz-driver.test.ts runs a small share in CI.
import type { Socket } from "bun";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { AgentService, HealthService } from "../../src/gen/index.ts";
import { decodeResponse, encodeRequest } from "../../src/ttrpc/envelope.ts";
import { Flags, FrameParser, FrameType, HEADER_LENGTH, writeHeader } from "../../src/ttrpc/frame.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { Code, codeName } from "../../src/ttrpc/status.ts";

export interface FuzzOptions {
  /** unix:// address of a running agent, and its pid (for RSS, fds and crash checks). */
  address: string;
  pid: number;
  frames: number;
  seed: number;
  connections: number;
  /** The probe call must answer within this (ms) or it counts as a hang. */
  hangMs?: number;
  /** Running containers to aim well-formed lifecycle calls at (Pause/Resume/Exec/Signal/Stats/
   *  Read/Wait/Remove in random order, interleaved with the noise): the freeze/exec races. */
  containers?: string[];
}

export interface FuzzReport {
  frames: number;
  responses: number;
  codes: Record<string, number>;
  unknown: number;
  internal: number;
  /** Examples of INTERNAL/UNKNOWN answers: method and message. */
  internalExamples: string[];
  /** INTERNAL/UNKNOWN answers by message (up to 200 distinct messages). */
  internalMessages: Record<string, number>;
  crashed: boolean;
  hangs: number;
  droppedMidFrame: number;
  rssKiB: [number, number];
  fds: [number, number];
  sockets: [number, number];
  /** Pipe ends the agent holds with nobody at the other end, after the run. */
  orphanPipes: string[];
  seconds: number;
}

/** Never sent: they stop the agent or change the machine's clock. */
const EXCLUDED = new Set(["DestroySandbox", "SetGuestDateTime"]);

export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Methods = Record<string, { request: { encode(m: unknown): { finish(): Uint8Array } } }>;

/** A well-formed lifecycle request for one of the given containers. */
function lifecycleCall(ids: string[], int: (n: number) => number, seq: number): { method: string; payload: Uint8Array } {
  const id = ids[int(ids.length)]!;
  const execId = `f${int(4)}`;
  const calls: [string, object][] = [
    ["PauseContainer", { container_id: id }],
    ["ResumeContainer", { container_id: id }],
    ["ExecProcess", { container_id: id, exec_id: `x${seq}`, process: { Args: ["sleep", "2"], Cwd: "/", Env: ["PATH=/bin"] } }],
    ["ExecProcess", { container_id: id, exec_id: execId, process: { Args: ["true"], Cwd: "/", Env: ["PATH=/bin"] } }],
    ["SignalProcess", { container_id: id, exec_id: int(3) === 0 ? "" : execId, signal: [9, 15, 0, 19, 18][int(5)] }],
    ["StatsContainer", { container_id: id }],
    ["ReadStdout", { container_id: id, exec_id: execId, len: 1 + int(4096) }],
    ["WaitProcess", { container_id: id, exec_id: execId }],
    ["UpdateContainer", { container_id: id, resources: { Pids: { Limit: int(3) === 0 ? 1 : 100 } } }],
    ["RemoveContainer", { container_id: id, timeout: int(2) }],
  ];
  // Remove is rare: the containers should live through most of the run.
  const [method, req] = calls[int(20000) === 0 ? calls.length - 1 : int(calls.length - 1)]!;
  const def = (AgentService.methods as Methods)[method]!;
  return { method, payload: def.request.encode(req).finish() };
}

function methodList(): { service: string; method: string; empty: Uint8Array }[] {
  const out: { service: string; method: string; empty: Uint8Array }[] = [];
  for (const svc of [HealthService, AgentService]) {
    for (const [method, def] of Object.entries(svc.methods as Methods)) {
      if (!EXCLUDED.has(method)) out.push({ service: svc.name, method, empty: def.request.encode({}).finish() });
    }
  }
  return out;
}

export function vmRssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Pipes the agent holds whose other end nobody holds (every process scanned): a read end with
 *  no writer left, or a write end with no reader — issue 14 #11's leak signature. */
export function orphanPipes(pid: number): string[] {
  const holders = new Map<string, number>();
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const t = readlinkSync(`/proc/${p}/fd/${fd}`);
        if (t.startsWith("pipe:")) holders.set(t, (holders.get(t) ?? 0) + 1);
      } catch {
        // closed meanwhile
      }
    }
  }
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const t = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (t.startsWith("pipe:") && holders.get(t) === 1) out.push(`${fd} -> ${t}`);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Unix sockets the agent holds (its listener and connections; netlink sockets a network RPC
 *  opened are state, not connections). */
export function socketCount(pid: number): number {
  const unix = new Set(readFileSync(`/proc/${pid}/net/unix`, "utf8").split("\n").slice(1).map((l) => l.trim().split(/\s+/)[6]));
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const t = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (t.startsWith("socket:") && unix.has(t.slice(8, -1))) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

interface Conn {
  sock: Socket<unknown>;
  nextStream: number;
  methodOf: Map<number, string>;
  closed: boolean;
}

export async function fuzz(o: FuzzOptions): Promise<FuzzReport> {
  const rnd = prng(o.seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const bytes = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const methods = methodList();
  const path = o.address.replace(/^unix:\/\//, "");
  const codes: Record<string, number> = {};
  const internalExamples: string[] = [];
  const internalMessages: Record<string, number> = {};
  let responses = 0, dropped = 0, hangs = 0;
  const t0 = performance.now();
  const fdsBefore = fdCount(o.pid), rssBefore = vmRssKiB(o.pid), socketsBefore = socketCount(o.pid);

  const open = async (): Promise<Conn> => {
    const conn = { nextStream: 1, methodOf: new Map<number, string>(), closed: false } as Conn;
    const parser = new FrameParser({
      onFrame(streamId, type, _flags, body) {
        if (type !== FrameType.Response) return;
        responses++;
        let code = -1, message = "";
        try {
          const r = decodeResponse(body);
          code = r.status?.code ?? Code.OK;
          message = r.status?.message ?? "";
        } catch {
          code = -1;
        }
        const name = code < 0 ? "UNDECODABLE" : codeName(code);
        codes[name] = (codes[name] ?? 0) + 1;
        if (code === Code.INTERNAL || code === Code.UNKNOWN) {
          if (internalExamples.length < 50) internalExamples.push(`${conn.methodOf.get(streamId) ?? "?"}: ${name}: ${message}`);
          if (message in internalMessages || Object.keys(internalMessages).length < 200) internalMessages[message] = (internalMessages[message] ?? 0) + 1;
        }
        conn.methodOf.delete(streamId);
      },
      onOversize() {},
    }, 64 << 20);
    for (let attempt = 0; ; attempt++) {
      try {
        conn.sock = await Bun.connect({
          unix: path,
          socket: {
            data: (_s, chunk) => parser.push(chunk),
            close: () => void (conn.closed = true),
            error: () => void (conn.closed = true),
          },
        });
        return conn;
      } catch (e) {
        // The listen backlog can be full for a moment after many drops; a dead agent is not.
        if (attempt >= 50 || !alive(o.pid)) throw e;
        await Bun.sleep(20);
      }
    }
  };

  const conns: Conn[] = [];
  for (let i = 0; i < o.connections; i++) conns.push(await open());

  // Probe: the agent must keep answering a health check on a connection of its own.
  const probe = await TtrpcClient.connect(o.address);
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      const t = performance.now();
      try {
        await probe.call(HealthService.name, "Check", new Uint8Array(0), { timeoutNs: (o.hangMs ?? 5000) * 1e6 });
      } catch {
        if (performance.now() - t >= (o.hangMs ?? 5000) - 50) hangs++;
      }
      await Bun.sleep(200);
    }
  })();

  const frame = (streamId: number, type: number, flags: number, body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(HEADER_LENGTH + body.length);
    writeHeader(out, body.length, streamId, type, flags);
    out.set(body, HEADER_LENGTH);
    return out;
  };

  for (let sent = 0; sent < o.frames; sent++) {
    const ci = int(conns.length);
    let c = conns[ci]!;
    if (c.closed) c = conns[ci] = await open();
    const roll = rnd();
    let out: Uint8Array;
    if (o.containers?.length && roll < 0.2) {
      const { method, payload } = lifecycleCall(o.containers, int, sent);
      const stream = c.nextStream;
      c.nextStream += 2;
      c.methodOf.set(stream, method);
      out = frame(stream, FrameType.Request, 0, encodeRequest({ service: AgentService.name, method, payload, timeoutNano: 0, metadata: [] }, 0));
    } else if (roll < 0.7) {
      const m = methods[int(methods.length)]!;
      const r = rnd();
      const payload = r < 0.3 ? bytes(int(96)) : r < 0.6 ? new Uint8Array([...m.empty, ...bytes(int(48))]) : m.empty;
      if (payload.length > 0 && r >= 0.3 && r < 0.6) payload[m.empty.length] = ((1 + int(15)) << 3) | int(6);
      const body = encodeRequest({ service: m.service, method: m.method, payload, timeoutNano: rnd() < 0.2 ? int(50) * 1e6 : 0, metadata: [] }, 0);
      const stream = c.nextStream;
      c.nextStream += 2;
      c.methodOf.set(stream, m.method);
      out = frame(stream, FrameType.Request, rnd() < 0.05 ? Flags.RemoteOpen : 0, body);
    } else if (roll < 0.85) {
      // Raw frame: any type, flags and stream id, a random body.
      out = frame(int(0xffffffff), int(5), int(256), bytes(int(64)));
    } else if (roll < 0.97) {
      out = frame(c.nextStream - 2 > 0 ? c.nextStream - 2 : 1, FrameType.Data, int(4), bytes(int(16)));
    } else {
      // A frame cut short (header only, or part of the body; sometimes an oversize header), then
      // the connection is dropped.
      const full = frame(c.nextStream, FrameType.Request, 0, bytes(8 + int(64)));
      if (rnd() < 0.3) new DataView(full.buffer).setUint32(0, (5 << 20) + int(1 << 20));
      await Bun.sleep(2); // answers to what this connection sent so far come back first
      c.sock.write(full.subarray(0, 1 + int(full.length - 1)));
      c.sock.terminate();
      c.closed = true;
      dropped++;
      continue;
    }
    c.sock.write(out);
    // Let answers flow back now and then (the agent stops reading a connection whose answers
    // pile up; so must we not write forever).
    if (sent % 256 === 255) await Bun.sleep(1);
    if (sent % 20000 === 19999 && !alive(o.pid)) break;
  }
  await Bun.sleep(1500);
  probing = false;
  await probeLoop;
  await probe.close().catch(() => {});
  for (const c of conns) c.sock.end();
  // Closed connections leave the agent shortly after.
  for (let i = 0; i < 150 && alive(o.pid) && socketCount(o.pid) > socketsBefore; i++) await Bun.sleep(100);
  const crashed = !alive(o.pid);
  return {
    frames: o.frames, responses, codes, unknown: codes.UNKNOWN ?? 0, internal: codes.INTERNAL ?? 0, internalExamples, internalMessages,
    crashed, hangs, droppedMidFrame: dropped,
    rssKiB: [rssBefore, crashed ? 0 : vmRssKiB(o.pid)], fds: [fdsBefore, crashed ? 0 : fdCount(o.pid)],
    sockets: [socketsBefore, crashed ? 0 : socketCount(o.pid)], orphanPipes: crashed ? [] : orphanPipes(o.pid),
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
  };
}

if (import.meta.main) {
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const frames = arg("frames", 1_000_000), seed = arg("seed", 1), connections = arg("connections", 16);
  const containers = arg("containers", 0);
  let report: FuzzReport;
  if (containers > 0) {
    // Running busybox containers (as root) get lifecycle calls mixed into the noise.
    const { rpc, startHarness } = await import("../integration/containers-harness.ts");
    const h = await startHarness();
    try {
      const ids = Array.from({ length: containers }, (_, i) => `fz${i}`);
      for (const id of ids) {
        await rpc(h.c, "CreateContainer", { container_id: id, exec_id: "", OCI: h.spec(["sleep", "100000"], { cid: id }) as never });
        await rpc(h.c, "StartContainer", { container_id: id });
      }
      report = await fuzz({ address: h.agent.address, pid: h.pid, frames, seed, connections, containers: ids });
      for (const id of ids) await rpc(h.c, "ResumeContainer", { container_id: id }).catch(() => undefined);
      await h.removeQuietly(...ids);
    } finally {
      await h.stop();
    }
  } else {
    const { startAgent } = await import("../helpers/agent.ts");
    const agent = await startAgent(process.getuid?.() === 0 ? { wrap: ["unshare", "--net"], logLevel: "info" } : { logLevel: "info" });
    try {
      report = await fuzz({ address: agent.address, pid: agent.proc.pid, frames, seed, connections });
    } finally {
      await agent.stop();
    }
  }
  console.log(JSON.stringify(report, null, 2));
  process.exitCode = report.crashed || report.hangs > 0 ? 1 : 0;
}
