// The log sink: every line reaches stdout in order, and a stdout whose reader went away (EPIPE)
// never takes the agent down.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HealthService, grpc } from "../../src/gen/index.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { AGENT_BIN, startAgent } from "../helpers/agent.ts";

async function check(c: TtrpcClient): Promise<number> {
  return grpc.HealthCheckResponse.decode(await c.call(HealthService.name, "Check", grpc.CheckRequest.encode({}).finish())).status;
}

test("the start-up line names the configuration, the log level by name", async () => {
  const agent = await startAgent();
  try {
    const line = agent.logs().split("\n").find((l) => l.includes('"starting kata-agent"'))!;
    expect(JSON.parse(line).config.log_level).toBe("debug");
  } finally {
    await agent.stop();
  }
});

test("every RPC's debug line reaches stdout, in order", async () => {
  const agent = await startAgent();
  try {
    const c = await agent.client();
    for (let i = 0; i < 200; i++) await check(c);
    await Bun.sleep(100);
    const lines = agent.logs().split("\n").filter((l) => l.includes('"grpc.Health/Check"'));
    expect(lines.length).toBe(200);
    const ts = lines.map((l) => JSON.parse(l).ts as string);
    expect([...ts].sort()).toEqual(ts);
  } finally {
    await agent.stop();
  }
});

test("a stdout nobody reads any more (EPIPE) does not stop the agent", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kata-agent-epipe-"));
  const socket = join(dir, "agent.sock");
  const config = join(dir, "agent.toml");
  writeFileSync(config, `server_addr = "unix://${socket}"\nlog_level = "debug"\n`);
  // `head -c 1` reads one byte of the first line and exits: every later write gets EPIPE.
  const p = Bun.spawn(["sh", "-c", `"$0" --config "$1" | head -c 1 >/dev/null`, AGENT_BIN, config], { stdout: "ignore", stderr: "ignore" });
  try {
    // The socket file appears at bind(), a moment before listen(): retry the connect until the
    // deadline (an agent that died of EPIPE would still fail the test here).
    const deadline = Date.now() + 15_000;
    let c: TtrpcClient | undefined;
    while (!c) {
      if (p.exitCode !== null) throw new Error(`agent pipeline exited ${p.exitCode} before serving`);
      if (existsSync(socket)) c = await TtrpcClient.connect(`unix://${socket}`).catch(() => undefined);
      if (!c && Date.now() > deadline) throw new Error("agent not listening");
      if (!c) await Bun.sleep(10);
    }
    for (let i = 0; i < 100; i++) expect(await check(c)).toBe(grpc.HealthCheckResponse.ServingStatus.SERVING);
    await Bun.sleep(100);
    expect(await check(c)).toBe(grpc.HealthCheckResponse.ServingStatus.SERVING);
    await c.close();
  } finally {
    Bun.spawnSync(["pkill", "-f", config]);
    await p.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
