// Bad input never crashes the agent: every RPC of both services gets random payloads (raw noise,
// and valid encodings of its request with bytes flipped); each call must be answered — OK or a
// status with a message — and the agent must still answer Check afterwards. Deterministic PRNG,
// so a failure reproduces. DestroySandbox is left out: an empty request is a valid "stop".
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readlinkSync } from "node:fs";
import { AgentService, HealthService } from "../../src/gen/index.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { Code, RpcError } from "../../src/ttrpc/status.ts";
import { startAgent, type RunningAgent } from "../helpers/agent.ts";
import { prng } from "../fuzz/driver.ts";

let agent: RunningAgent;
let c: TtrpcClient;

beforeAll(async () => {
  // As root, in a network namespace of its own: the network RPCs (routes, iptables-restore) get
  // noise too, and must not touch the host's network even if some noise happened to parse.
  agent = await startAgent(process.getuid?.() === 0 ? { wrap: ["unshare", "--net"] } : {});
  c = await agent.client();
});
afterAll(async () => {
  await agent?.stop();
});

const services = [HealthService, AgentService] as const;
const PER_METHOD = 40;

/** Every method of both services with PER_METHOD payloads from `rnd`; the status codes seen. */
async function fuzzAll(rnd: () => number): Promise<{ calls: number; codes: Map<number, number> }> {
  const codes = new Map<number, number>();
  let calls = 0;
  for (const svc of services) {
    for (const [method, def] of Object.entries(svc.methods as Record<string, { request: { encode(m: unknown): { finish(): Uint8Array } } }>)) {
      if (method === "DestroySandbox") continue;
      const valid = def.request.encode({}).finish();
      for (let i = 0; i < PER_METHOD; i++) {
        let payload: Uint8Array;
        if (i % 2 === 0) {
          payload = new Uint8Array(Math.floor(rnd() * 64));
          for (let k = 0; k < payload.length; k++) payload[k] = Math.floor(rnd() * 256);
        } else {
          // A plausible message: a field tag for a low field number, then noise.
          payload = new Uint8Array(2 + Math.floor(rnd() * 32) + valid.length);
          payload.set(valid);
          for (let k = valid.length; k < payload.length; k++) payload[k] = Math.floor(rnd() * 256);
          payload[valid.length] = ((1 + Math.floor(rnd() * 12)) << 3) | Math.floor(rnd() * 6);
        }
        let code: number = Code.OK;
        try {
          await c.call(svc.name, method, payload, { timeoutNs: 200e6 });
        } catch (e) {
          if (!(e instanceof RpcError)) throw e;
          code = e.code;
          expect(e.message.length).toBeGreaterThan(0);
        }
        calls++;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        expect(agent.proc.exitCode).toBeNull();
      }
    }
  }
  return { calls, codes };
}

/** The agent's open descriptors, by what they point at. */
function agentFds(): string[] {
  const dir = `/proc/${agent.proc.pid}/fd`;
  return readdirSync(dir).map((f) => {
    try {
      return readlinkSync(`${dir}/${f}`);
    } catch {
      return "(closed)";
    }
  }).sort();
}

test("every RPC answers random and corrupted payloads with a status; the agent survives", async () => {
  const { calls, codes } = await fuzzAll(prng(20261123));
  const check = await c.call(HealthService.name, "Check", new Uint8Array());
  expect(check.length).toBeGreaterThan(0);
  expect(calls).toBe((Object.keys(AgentService.methods).length - 1 + Object.keys(HealthService.methods).length) * PER_METHOD);
  // Noise must mostly be rejected as undecodable, not silently accepted.
  expect(codes.get(Code.INVALID_ARGUMENT) ?? 0).toBeGreaterThan(calls / 4);
  expect(codes.has(Code.UNKNOWN)).toBe(false);
}, 120_000);

test("a second round of the same noise leaves no descriptor behind (the first may open the agent's lasting ones)", async () => {
  // The first round can start what the agent keeps for its lifetime (the output readiness thread's
  // pipes, the uevent and route netlink sockets); a second round of the same calls must add nothing.
  await Bun.sleep(300);
  const before = agentFds();
  await fuzzAll(prng(20261123));
  await c.call(HealthService.name, "Check", new Uint8Array());
  await Bun.sleep(300);
  expect(agentFds()).toEqual(before);
}, 120_000);
