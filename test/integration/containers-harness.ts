// Shared by the containers-*.test.ts files: the real agent binary on a unix socket, a busybox
// rootfs, typed AgentService calls, and the leak checks every test ends with (mounts, cgroup
// directories, child processes of the agent, open fds).
import { messageType } from "../../src/ctl/schema.ts";
import { afterAll, afterEach, beforeAll, setDefaultTimeout } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentService, type AgentRequest, type AgentResponse, type AgentServiceTypes, grpc } from "../../src/gen/index.ts";
import { minimalSpec, type MinimalSpecOptions } from "../../src/ctl/oci-json.ts";
import type { ISpec } from "../../src/container/oci-types.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { Code, RpcError } from "../../src/ttrpc/status.ts";
import { makeBusyboxRootfs } from "../fixtures/busybox.ts";
import { startAgent, type RunningAgent } from "../helpers/agent.ts";

export const isRoot = process.getuid?.() === 0;

// bunfig's [test] timeout does not reach these files; a container test may take seconds.
setDefaultTimeout(30_000);
export { Code, RpcError };

type Method = keyof AgentServiceTypes;

/** One AgentService call with the generated codecs. */
export async function rpc<M extends Method>(c: TtrpcClient, method: M, req: AgentRequest<M>, timeoutNs = 0): Promise<AgentResponse<M>> {
  const d = AgentService.methods[method]!;
  const type = messageType(d.requestType);
  const payload = type.encode(type.fromObject(req as Record<string, unknown>)).finish();
  const out = await c.call(AgentService.name, method, payload, timeoutNs > 0 ? { timeoutNs } : {});
  return d.response.decode(out) as AgentResponse<M>;
}

export { failure } from "../helpers/agent.ts";

/** Reads a stream until EOF (empty data). */
export async function readAll(c: TtrpcClient, cid: string, execId: string, which: "ReadStdout" | "ReadStderr", len = 1 << 20): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const r = await rpc(c, which, { container_id: cid, exec_id: execId, len });
    const data = r.data ?? new Uint8Array(0);
    if (data.length === 0) break;
    parts.push(data);
    total += data.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

export const text = (b: Uint8Array) => new TextDecoder().decode(b);

export function sha256(b: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(b).digest("hex");
}

// ---- leak checks -------------------------------------------------------------------------------

/** Mount points at or below any of `paths`, from /proc/self/mountinfo. */
export function mountsUnder(...paths: string[]): string[] {
  const lines = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
  return lines.map((l) => l.split(" ")[4] ?? "").filter((mp) => paths.some((p) => mp === p || mp.startsWith(p + "/")));
}

/** Direct children of `pid` (by the ppid field of /proc/N/stat). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Number of open fds of `pid`, without Bun's own event-loop fds (see fdTargets). */
export function fdCount(pid: number): number {
  return fdTargets(pid).length;
}

// Bun starts an "IO Watcher" thread with its own epoll + eventfd the first time it needs one
// (seen after about ten container lifecycles plus a GC): runtime state made once, not a leak of
// ours, and it would otherwise appear at a random point of a before/after comparison.
const RUNTIME_FD = /^anon_inode:\[(eventpoll|eventfd)\]$/;

/** What `pid`'s fds point at (Bun's event-loop fds left out), for a readable diff when the count grew. */
export function fdTargets(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = "?";
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      // Closed while we looked.
    }
    if (!RUNTIME_FD.test(target)) out.push(`${fd} -> ${target}`);
  }
  return out;
}

const V1_CONTROLLERS = ["memory", "pids", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "hugetlb", "net_cls", "net_prio", "perf_event"];

/** The v1 hierarchies as mounted here: "cpu" and "cpuacct" may be one "cpu,cpuacct" mount (with
 *  symlinks, skipped) or two; named and unified hierarchies are not the agent's. */
function v1Hierarchies(): string[] {
  return readdirSync("/sys/fs/cgroup", { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.split(",").some((c) => V1_CONTROLLERS.includes(c)))
    .map((e) => join("/sys/fs/cgroup", e.name));
}

/** The cgroup2 mount (/sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one). */
function v2Root(): string | undefined {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-");
    if (sep > 0 && f[sep + 1] === "cgroup2") return f[4];
  }
  return undefined;
}

/** Existing cgroup directories for a path relative to the hierarchy roots: one per v1 hierarchy,
 *  then the cgroup2 one, so the leftover checks hold on v1, hybrid and unified hosts alike. */
export function cgroupDirs(rel: string): string[] {
  const v2 = v2Root();
  return [...v1Hierarchies(), ...(v2 ? [v2] : [])].map((h) => join(h, rel)).filter((d) => existsSync(d));
}

/** Polls `f` until it returns true (or throws the last failure after `ms`). */
export async function eventually(what: string, f: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await Bun.sleep(20);
  }
}

function subdirsDeepestFirst(d: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) out.push(...subdirsDeepestFirst(join(d, e.name)));
  out.push(d);
  return out;
}

/** Kills every process in cgroups below `rel` (all v1 controllers) and removes the directories. */
export function killAndRemoveCgroups(rel: string): void {
  for (const top of cgroupDirs(rel)) {
    for (const d of subdirsDeepestFirst(top)) {
      try {
        // A frozen task does not die until thawed.
        if (d.includes("/freezer/")) writeFileSync(join(d, "freezer.state"), "THAWED");
        else if (existsSync(join(d, "cgroup.freeze"))) writeFileSync(join(d, "cgroup.freeze"), "0");
      } catch {
        // not a freezer dir any more
      }
      try {
        for (const p of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) process.kill(Number(p), "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  const end = Date.now() + 3000;
  for (const top of cgroupDirs(rel)) {
    for (const d of subdirsDeepestFirst(top)) {
      for (;;) {
        try {
          rmdirSync(d);
          break;
        } catch {
          if (Date.now() > end) break; // reported by the next assertClean
          Bun.sleepSync(10);
        }
      }
    }
  }
}

// ---- the agent and its containers --------------------------------------------------------------

export interface Harness {
  agent: RunningAgent;
  c: TtrpcClient;
  /** Agent pid. */
  pid: number;
  /** A temp dir holding the rootfs and anything a test writes (hooks, logs). */
  dir: string;
  rootfs: string;
  /** The cgroup parent every container of this harness uses: "<prefix>/<cid>". */
  cgroupPrefix: string;
  /** A spec for this rootfs whose cgroup sits under cgroupPrefix. */
  spec(args: string[], o?: Partial<MinimalSpecOptions> & { cid?: string }): ISpec;
  create(cid: string, spec: ISpec, execId?: string): Promise<void>;
  /** Removes containers a test left behind (ignores unknown ones). */
  removeQuietly(...cids: string[]): Promise<void>;
  /** Asserts no mounts under dir, no cgroup dirs under the prefix, no agent children. */
  assertClean(): Promise<void>;
  stop(): Promise<void>;
}

let seq = 0;

export async function startHarness(opts: { toml?: string; rootfsDir?: string; env?: (dir: string) => Record<string, string> } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "kata-ctr-test-"));
  const rootfs = opts.rootfsDir ?? (await makeBusyboxRootfs(join(dir, "rootfs")));
  const agent = await startAgent({ toml: opts.toml, env: opts.env?.(dir) });
  const c = await agent.client();
  const pid = agent.proc.pid;
  const cgroupPrefix = `kata-ctr-test-${process.pid}-${++seq}`;
  const h: Harness = {
    agent, c, pid, dir, rootfs, cgroupPrefix,
    spec(args, o = {}) {
      const s = minimalSpec({ rootfs, args, ...o });
      s.Linux!.CgroupsPath = `/${cgroupPrefix}/${o.cid ?? "c"}`;
      return s;
    },
    async create(cid, spec, execId = "") {
      await rpc(c, "CreateContainer", { container_id: cid, exec_id: execId, OCI: spec as grpc.ISpec });
    },
    async removeQuietly(...cids) {
      for (const cid of cids) {
        try {
          await rpc(c, "RemoveContainer", { container_id: cid, timeout: 10 });
        } catch (e) {
          if (!(e instanceof RpcError) || e.code !== Code.INVALID_ARGUMENT) throw e;
        }
      }
    },
    async assertClean() {
      await eventually("no child processes of the agent", () => childrenOf(pid).length === 0).catch(() => {
        throw new Error(`agent children left: ${childrenOf(pid).map((p) => `${p}:${readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ")}`).join(", ")}`);
      });
      const mounts = mountsUnder(dir);
      if (mounts.length > 0) throw new Error(`mounts left: ${mounts.join(", ")}`);
      const cg = cgroupDirs(cgroupPrefix).flatMap((d) => readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name)));
      if (cg.length > 0) throw new Error(`cgroup dirs left: ${cg.join(", ")}`);
    },
    async stop() {
      try {
        await agent.stop();
      } finally {
        // Whatever a failed test (or a dead agent) left in our cgroups: kill it, then remove the
        // directories deepest first, so one failure does not leak into later runs.
        killAndRemoveCgroups(cgroupPrefix);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return h;
}

/**
 * The suite hooks every container test file shares: a harness started before the suite (handed to
 * `ready`, with any extra set-up), the containers a test created removed after it and the
 * machine checked for leftovers, the harness stopped at the end.
 */
export function useHarness(cids: Set<string>, ready: (h: Harness) => void | Promise<void>): void {
  let h: Harness | undefined;
  beforeAll(async () => {
    h = await startHarness();
    await ready(h);
  });
  afterEach(async () => {
    await h!.removeQuietly(...cids);
    cids.clear();
    await h!.assertClean();
  });
  afterAll(async () => {
    await h?.stop();
  });
}
