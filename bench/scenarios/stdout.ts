// 4. 1 GiB of container stdout read through ReadStdout(len) by containerd's Go ttRPC client, vs a
// raw pipe read of the same bytes in Bun (the same writer spawned on the host with a pipe of the
// same size as the container's as its stdout, read to the end). Both clocks run from the writer's start to EOF; the ratio is of throughputs.
// The writer is busybox `dd bs=1M` on both sides (the container's /bin/busybox is a copy of the
// host's): busybox `head -c` writes 4 KiB at a time and cannot itself exceed ~220 MiB/s, which
// would make the writer, not the agent, the thing measured.
import { join } from "node:path";
import type { Subprocess } from "bun";
import { writeAgentSpec } from "../lib/bundle.ts";
import type { BenchContext } from "../lib/context.ts";
import { GiB, MiB, pick } from "../lib/context.ts";
import { memoryOf, runJson, startAgent, startGoServer, type Server } from "../lib/procs.ts";
import type { Row } from "../lib/report.ts";
import { interleave, median } from "../lib/stats.ts";
import { closeFd, pipe, setNonBlocking, setPipeSize } from "../../src/sys/pipe.ts";

interface StdoutResult {
  bytes: number;
  reads: number;
  seconds: number;
  mib_per_sec: number;
}

/** The writer: `bytes` (a multiple of 1 MiB) of zeros in 1 MiB writes. */
export const writerArgs = (bytes: number) => ["dd", "if=/dev/zero", "bs=1M", `count=${bytes / MiB}`];

/**
 * MiB/s of reading `bytes` from the same writer on the host through a pipe, read in Bun the way
 * the agent reads a container's stdout (Bun.file(fd).stream() on the non-blocking read end).
 * A real pipe(2), sized like the container's (`pipeSize`, 0 = the kernel's 64 KiB): Bun.spawn's
 * `stdout: "pipe"` is a unix socketpair, several times faster than a pipe, so it is not the anchor.
 */
export async function rawPipeMiBps(bytes: number, pipeSize = 0): Promise<number> {
  const [r, w] = pipe();
  let p: Subprocess;
  let t0: number;
  try {
    if (pipeSize > 0) setPipeSize(w, pipeSize);
    setNonBlocking(r);
    t0 = performance.now();
    p = Bun.spawn(["/bin/busybox", ...writerArgs(bytes)], { stdin: "ignore", stdout: w, stderr: "ignore" });
  } catch (e) {
    closeFd(r);
    throw e;
  } finally {
    closeFd(w); // the writer has its copy
  }
  let got = 0;
  const reader = (Bun.file(r).stream() as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    got += value.length;
  }
  const s = (performance.now() - t0) / 1000;
  closeFd(r);
  await p.exited;
  if (got !== bytes) throw new Error(`raw pipe read ${got} bytes, want ${bytes}`);
  return bytes / MiB / s;
}

export async function stdoutRows(ctx: BenchContext): Promise<Row[]> {
  const dir = join(ctx.work, "stdout");
  const bytes = GiB;
  const spec = writeAgentSpec(join(dir, "dd.pb"), ctx.rootfs, writerArgs(bytes));
  const agent = await startAgent(ctx.agentBin, dir);
  // A second agent with 1 MiB container pipes (agent.container_pipe_size), against a 1 MiB raw pipe.
  const bigPipe = await startAgent(ctx.agentBin, dir, "agent-1m-pipe", `container_pipe_size = ${MiB}\n`);
  let go: Server | undefined;
  let n = 0;
  const once = async (len: number, server: Server = agent) =>
    runJson<StdoutResult>([ctx.go.client, "stdout", "-addr", server.address, "-spec", spec, "-len", String(len), "-bytes", String(bytes), "-id", `out-${n++}`]);
  try {
    go = await startGoServer(ctx.go.server, dir);
    // The largest len that fits a 4 MiB ttRPC frame with its envelope is a little under 4 MiB.
    const lens = pick(ctx, [MiB], [64 << 10, 256 << 10, MiB, 4 * MiB - 4096]);
    const sweep: Record<string, number> = {};
    let best = lens[0]!;
    if (lens.length > 1) {
      for (const len of lens) {
        ctx.progress(`stdout: sweep len=${len}`);
        sweep[String(len)] = (await once(len)).mib_per_sec;
        if (sweep[String(len)]! > (sweep[String(best)] ?? 0)) best = len;
      }
    }
    const rounds = pick(ctx, 1, 3);
    const ours: StdoutResult[] = [];
    const raw: number[] = [];
    const ceiling: number[] = [];
    const oursBig: StdoutResult[] = [];
    const rawBig: number[] = [];
    const goServer = go;
    ctx.progress(`stdout: ${rounds} rounds of 1 GiB, len=${best}`);
    await interleave(rounds, [
      async () => void ours.push(await once(best)),
      async () => void raw.push(await rawPipeMiBps(bytes)),
      // The same client and calls against a Go ttRPC server that answers from memory: what the
      // protocol with one call in flight allows on this machine, whoever the server is.
      async () => void ceiling.push((await runJson<StdoutResult>([ctx.go.client, "readonly", "-addr", goServer.address, "-len", String(best), "-bytes", String(bytes)])).mib_per_sec),
      async () => void oursBig.push(await once(best, bigPipe)),
      async () => void rawBig.push(await rawPipeMiBps(bytes, MiB)),
    ]);
    const memAfter = memoryOf(agent.pid);
    return [{
      id: "stdout_1g", what: `1 GiB stdout via ReadStdout (len ${best >= MiB ? `${(best / MiB).toFixed(2)} MiB` : `${best >> 10} KiB`})`, unit: "MiB/s",
      value: median(ours.map((r) => r.mib_per_sec)), anchor: median(raw), anchorName: "raw 64 KiB pipe read in Bun",
      target: { kind: "ratio", better: "higher", limit: 0.4 },
      note: `agent RSS after the reads: ${(memAfter.rssKiB / 1024).toFixed(0)} MiB (anon ${(memAfter.anonKiB / 1024).toFixed(0)} MiB)`,
      detail: { rounds, len: best, sweepMiBps: sweep, ours, rawMiBps: raw, goCeilingMiBps: ceiling, agentMemoryAfter: memAfter, client: "Go ttRPC client, one ReadStdout in flight" },
    }, {
      id: "stdout_vs_go", what: "  same, vs ReadStdout from a Go ttRPC server", unit: "MiB/s", value: median(ours.map((r) => r.mib_per_sec)),
      anchor: median(ceiling), anchorName: "Go server, data from memory (no pipe)",
      note: "the protocol's ceiling here: same Go client, same len, one call in flight",
    }, {
      id: "stdout_1m_pipe", what: "  same, container_pipe_size = 1 MiB", unit: "MiB/s", value: median(oursBig.map((r) => r.mib_per_sec)),
      anchor: median(rawBig), anchorName: "raw 1 MiB pipe read in Bun",
      note: "both pipes 1 MiB (F_SETPIPE_SZ, agent.container_pipe_size)",
      detail: { ours: oursBig, rawMiBps: rawBig },
    }];
  } finally {
    await agent.stop();
    await bigPipe.stop();
    await go?.stop();
  }
}
