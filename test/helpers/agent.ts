// Starts the real agent binary (dist/kata-agent) with a config file in a private temp dir and a
// unix socket, for integration tests. Always stop() it in afterAll/finally.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { Code, RpcError } from "../../src/ttrpc/status.ts";

export const AGENT_BIN = join(import.meta.dir, "../../dist/kata-agent");

export interface RunningAgent {
  dir: string;
  socket: string;
  address: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the agent logged so far (JSON lines). */
  logs(): string;
  client(): Promise<TtrpcClient>;
  stop(): Promise<number>;
}

export async function startAgent(
  opts: { /** Default "debug"; "info" keeps long runs (fuzzing) from logging every call. */ logLevel?: string; toml?: string; env?: Record<string, string>; args?: string[]; /** A command the agent runs under, e.g. ["ip", "netns", "exec", NS] or nsenter into a mount namespace (it must exec the agent, not fork). */ wrap?: string[] } = {},
): Promise<RunningAgent> {
  const dir = mkdtempSync(join(tmpdir(), "kata-agent-test-"));
  const socket = join(dir, "agent.sock");
  const address = `unix://${socket}`;
  const configPath = join(dir, "agent.toml");
  writeFileSync(configPath, `server_addr = "${address}"\nlog_level = "${opts.logLevel ?? "debug"}"\n${opts.toml ?? ""}\n`);
  const proc = Bun.spawn([...(opts.wrap ?? []), AGENT_BIN, "--config", configPath, ...(opts.args ?? [])], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...(opts.env ?? {}) },
  });
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out += dec.decode(chunk, { stream: true });
  };
  const pumps = [pump(proc.stdout), pump(proc.stderr)];
  const clients: TtrpcClient[] = [];
  const deadline = Date.now() + 15_000;
  while (!out.includes('"agent ready"')) {
    if (proc.exitCode !== null) throw new Error(`agent exited ${proc.exitCode} before ready:\n${out}`);
    if (Date.now() > deadline) {
      proc.kill(9);
      throw new Error(`agent not ready after 15 s:\n${out}`);
    }
    await Bun.sleep(10);
  }
  return {
    dir,
    socket,
    address,
    proc,
    logs: () => out,
    client: async () => {
      const c = await TtrpcClient.connect(address);
      clients.push(c);
      return c;
    },
    stop: async () => {
      for (const c of clients) await c.close().catch(() => {});
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill(9), 10_000);
      const code = await proc.exited;
      clearTimeout(t);
      await Promise.allSettled(pumps);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** The status of a call that must fail (OK when it did not). */
export async function failure(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
    return { code: Code.OK, message: "" };
  } catch (e) {
    if (!(e instanceof RpcError)) throw e;
    return { code: e.code, message: e.message };
  }
}
