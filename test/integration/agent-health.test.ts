// The foundation, end to end: the compiled agent on a unix socket, driven by our client and by
// raw frames. Every bad input gets its exact status and the agent keeps serving afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AgentService, HealthService, grpc } from "../../src/gen/index.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { encodeRequest, decodeResponse } from "../../src/ttrpc/envelope.ts";
import { encodeFrame, FrameType } from "../../src/ttrpc/frame.ts";
import { Code } from "../../src/ttrpc/status.ts";
import { AGENT_BIN, failure, startAgent, type RunningAgent } from "../helpers/agent.ts";
import { missing } from "../helpers/require.ts";

let agent: RunningAgent;
let c: TtrpcClient;

async function check(client = c): Promise<number> {
  const out = await client.call(HealthService.name, "Check", grpc.CheckRequest.encode({}).finish());
  return grpc.HealthCheckResponse.decode(out).status;
}

beforeAll(async () => {
  agent = await startAgent();
  c = await agent.client();
});
afterAll(async () => {
  await agent?.stop();
});

describe("agent binary", () => {
  test("--version prints the version line", () => {
    const p = Bun.spawnSync([AGENT_BIN, "--version"]);
    expect(p.exitCode).toBe(0);
    expect(p.stdout.toString()).toMatch(/^kata-agent version \d+\.\d+\.\d+ \(api 0\.0\.1\)\n$/);
  });

  test("a bad --config file exits 2 naming file, key and problem", () => {
    const bad = `${agent.dir}/bad.toml`;
    Bun.write(bad, 'log_level = "loud"\nserver_addr = "unix:///tmp/x.sock"\n');
    const p = Bun.spawnSync([AGENT_BIN, "--config", bad]);
    expect(p.exitCode).toBe(2);
    const err = p.stderr.toString();
    expect(err).toContain("bad.toml");
    expect(err).toContain("log_level");
    expect(err).toContain('"loud"');
  });
});

describe("Health over our client", () => {
  test("Check answers SERVING and Version the versions", async () => {
    expect(await check()).toBe(grpc.HealthCheckResponse.ServingStatus.SERVING);
    const v = grpc.VersionCheckResponse.decode(await c.call(HealthService.name, "Version", new Uint8Array()));
    expect(v.grpc_version).toBe("0.0.1");
    expect(v.agent_version).toMatch(/^\d+\.\d+\.\d+/);
  });

  // ss(8) reports each unix socket's send buffer as skmem's "tb" (the kernel's doubled figure).
  test.skipIf(missing({ "ss (iproute2)": !!Bun.which("ss") }))("accepted connections get a 4 MiB send buffer (one write per large answer)", async () => {
    await check();
    const p = Bun.spawnSync(["ss", "-xmpH"]);
    const lines = p.stdout.toString().split("\n");
    // The accepted connection: local address is the agent's socket path (its stdio are socketpairs too).
    const i = lines.findIndex((l) => l.includes(`pid=${agent.proc.pid},`) && l.includes("ESTAB") && l.includes(agent.socket));
    expect(i).toBeGreaterThanOrEqual(0);
    const tb = /tb(\d+)/.exec(`${lines[i]} ${lines[i + 1] ?? ""}`);
    expect(Number(tb?.[1])).toBeGreaterThanOrEqual(8 << 20);
  });

  test("each RPC is logged at debug with method, status and duration", async () => {
    await check();
    const line = agent.logs().split("\n").reverse().find((l) => l.includes('"grpc.Health/Check"'));
    expect(line).toBeDefined();
    const rec = JSON.parse(line!);
    expect(rec).toMatchObject({ level: "DEBG", subsystem: "rpc", status: 0, name: "kata-agent", source: "agent" });
    expect(typeof rec.duration_ms).toBe("number");
    expect(typeof rec.pid).toBe("string");
  });
});

describe("bad input gets the exact status; the agent keeps serving", () => {
  test("unknown service → INVALID_ARGUMENT", async () => {
    const r = await failure(c.call("grpc.Nope", "Check", new Uint8Array()));
    expect(r.code).toBe(Code.INVALID_ARGUMENT);
    expect(r.message).toContain("grpc.Nope");
    expect(await check()).toBe(1);
  });

  test("unknown method → UNIMPLEMENTED", async () => {
    const r = await failure(c.call(HealthService.name, "Nope", new Uint8Array()));
    expect(r.code).toBe(Code.UNIMPLEMENTED);
    expect(await check()).toBe(1);
  });

  test("undecodable payload → INVALID_ARGUMENT naming the request type", async () => {
    const r = await failure(c.call(AgentService.name, "CreateContainer", new Uint8Array([0x0a, 0x7f, 0x41])));
    expect(r.code).toBe(Code.INVALID_ARGUMENT);
    expect(r.message).toContain("CreateContainerRequest");
    expect(await check()).toBe(1);
  });

  test("undecodable envelope → INVALID_ARGUMENT on that stream", async () => {
    const id = c.nextStreamId();
    c.sendRawFrame(encodeFrame(id, FrameType.Request, 0, new Uint8Array([0xff, 0xff, 0xff])));
    const f = await c.waitFrame(id);
    expect(decodeResponse(f.body).status?.code).toBe(Code.INVALID_ARGUMENT);
    expect(await check()).toBe(1);
  });

  test("oversize frame → RESOURCE_EXHAUSTED, same connection still works", async () => {
    const r = await failure(c.call(HealthService.name, "Check", new Uint8Array(5 << 20)));
    expect(r.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(await check()).toBe(1);
  });

  test("even stream id → INVALID_ARGUMENT", async () => {
    const body = encodeRequest({ service: HealthService.name, method: "Check", payload: new Uint8Array(), timeoutNano: 0, metadata: [] } as never);
    c.sendRawFrame(encodeFrame(1_000_000, FrameType.Request, 0, body));
    const f = await c.waitFrame(1_000_000);
    expect(decodeResponse(f.body).status?.code).toBe(Code.INVALID_ARGUMENT);
    expect(await check()).toBe(1);
  });

  test("a data frame (ttrpc 1.2 streaming) on a unary method is answered, not a crash", async () => {
    const id = c.nextStreamId();
    c.sendRawFrame(encodeFrame(id, FrameType.Data, 0, new Uint8Array([1, 2, 3])));
    const f = await c.waitFrame(id);
    expect(decodeResponse(f.body).status?.code).not.toBe(Code.OK);
    expect(await check()).toBe(1);
  });

  test("unimplemented RPCs say so by name", async () => {
    const r = await failure(c.call(AgentService.name, "ResizeVolume", new Uint8Array()));
    expect(r.code).toBe(Code.UNIMPLEMENTED);
    expect(r.message).toBe("ResizeVolume is not implemented yet");
  });

  test("timeout_nano → DEADLINE_EXCEEDED from the server (GetOOMEvent long-polls)", async () => {
    const t0 = performance.now();
    const r = await failure(c.call(AgentService.name, "GetOOMEvent", new Uint8Array(), { timeoutNs: 200e6 }));
    expect(r.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(await check()).toBe(1);
  });

  test("100 concurrent calls on one connection and 10 connections", async () => {
    const one = await Promise.all(Array.from({ length: 100 }, () => check()));
    expect(one.every((s) => s === 1)).toBe(true);
    const clients = await Promise.all(Array.from({ length: 10 }, () => agent.client()));
    const many = await Promise.all(clients.flatMap((cl) => Array.from({ length: 10 }, () => check(cl))));
    expect(many.filter((s) => s === 1).length).toBe(100);
  });

  test("a client vanishing mid-call leaves the agent healthy", async () => {
    const gone = await TtrpcClient.connect(agent.address);
    const pending = failure(gone.call(AgentService.name, "GetOOMEvent", new Uint8Array()));
    await Bun.sleep(50);
    await gone.close();
    expect((await pending).code).not.toBe(Code.OK);
    await Bun.sleep(50);
    expect(await check()).toBe(1);
    expect(agent.proc.exitCode).toBeNull();
  });
});

describe("[endpoints] allowed", () => {
  test("a blocked request is UNIMPLEMENTED naming the request type; Check still served", async () => {
    const a = await startAgent({ toml: '[endpoints]\nallowed = ["CreateContainerRequest"]' });
    try {
      const cl = await a.client();
      const r = await failure(cl.call(AgentService.name, "WriteStdin", new Uint8Array()));
      expect(r.code).toBe(Code.UNIMPLEMENTED);
      expect(r.message).toContain("WriteStreamRequest");
      expect(await check(cl)).toBe(1);
    } finally {
      await a.stop();
    }
  });
});

describe("vsock", () => {
  test("the agent binds a vsock listener (no loopback on this host to connect)", async () => {
    const port = 20000 + (process.pid % 20000);
    let a: RunningAgent | undefined;
    try {
      a = await startAgent({ env: { KATA_AGENT_SERVER_ADDR: `vsock://-1:${port}` } });
      expect(a.logs()).toContain(`vsock://-1:${port}`);
      expect(a.proc.exitCode).toBeNull();
    } finally {
      await a?.stop();
    }
  }, 20_000);
});
