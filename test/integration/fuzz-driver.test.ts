// A CI-sized share of the fuzz driver (test/fuzz/driver.ts; the full 1,000,000-frame run is
// `bun test/fuzz/driver.ts`): no crash, no hang, no UNKNOWN, no INTERNAL but Kata's own
// "mem-agent is disabled", every connection closed, no pipe end left without its peer.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { fuzz } from "../fuzz/driver.ts";
import { startAgent, type RunningAgent } from "../helpers/agent.ts";

setDefaultTimeout(120_000);
let agent: RunningAgent;

beforeAll(async () => {
  agent = await startAgent(process.getuid?.() === 0 ? { wrap: ["unshare", "--net"], logLevel: "info" } : { logLevel: "info" });
});
afterAll(async () => {
  await agent?.stop();
});

test("20,000 seeded frames over 8 connections: no crash, no hang, no UNKNOWN or unexpected INTERNAL, connections closed, no orphaned pipe", async () => {
  const r = await fuzz({ address: agent.address, pid: agent.proc.pid, frames: 20_000, seed: 14, connections: 8 });
  console.log(JSON.stringify({ ...r, internalExamples: r.internalExamples.slice(0, 5) }));
  expect(r.crashed).toBe(false);
  expect(r.hangs).toBe(0);
  expect(r.responses).toBeGreaterThan(10_000);
  expect(r.unknown).toBe(0);
  // Kata itself answers MemAgent* with INTERNAL "mem-agent is disabled" (kept for parity); any
  // other INTERNAL would be a caller error reported as ours.
  expect(Object.keys(r.internalMessages).filter((m) => !m.endsWith("mem-agent is disabled"))).toEqual([]);
  // Every connection the driver opened is closed, and no pipe end is left without its peer.
  // (Other fds may be state the traffic created on purpose, e.g. a sandbox pid-namespace holder.)
  expect(r.sockets[1]).toBe(r.sockets[0]);
  expect(r.orphanPipes).toEqual([]);
});
