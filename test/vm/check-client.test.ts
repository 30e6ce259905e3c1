// The guest's static Check client (test/vm/check-client.c) against the real agent on the host over
// a unix socket, and against peers that answer wrongly: its frame and its reading of the answer
// are what the bench's VM figures rest on.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileCheckClient } from "./image.ts";
import { isStaticElf } from "./initramfs.ts";
import { startAgent } from "../helpers/agent.ts";
import { missing } from "../helpers/require.ts";

const scratch = mkdtempSync(join(tmpdir(), "check-client-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const cc = process.env.CC ?? "cc";

function runClient(client: string, args: string[]): { code: number; out: string } {
  const p = Bun.spawnSync([client, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}

/** A unix-socket peer that answers every connection with `reply` (raw bytes) and hangs up. */
function fakePeer(path: string, reply: Uint8Array) {
  return Bun.listen({
    unix: path,
    socket: {
      data(socket) {
        socket.write(reply);
        socket.end();
      },
    },
  });
}

/** A ttRPC response frame (type 2) on stream 1 around `payload`. */
function responseFrame(payload: number[], type = 2, stream = 1): Uint8Array {
  const head = Buffer.alloc(10);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt32BE(stream, 4);
  head[8] = type;
  return Buffer.concat([head, Buffer.from(payload)]);
}

describe.skipIf(missing({ [`a C compiler (${cc})`]: Bun.which(cc) !== null }))("check-client (static ttRPC Check for guests)", () => {
  const client = () => compileCheckClient(join(scratch, "check-client"));

  test("is a static executable", () => {
    expect(isStaticElf(client())).toBe(true);
  });

  test("the agent answers its Check frame with SERVING", async () => {
    const agent = await startAgent();
    try {
      const r = runClient(client(), ["5000", `unix:${agent.socket}`]);
      expect(r.out).toMatch(/^SERVING attempts=1 uptime=[\d.]+\n$/);
      expect(r.code).toBe(0);
      // The agent logs the call as it answers; the line may reach us a moment after the client ends.
      for (let i = 0; i < 100 && !agent.logs().includes('"method":"grpc.Health/Check"'); i++) await Bun.sleep(20);
      expect(agent.logs()).toContain('"method":"grpc.Health/Check","status":0');
    } finally {
      await agent.stop();
    }
  });

  test("polls until the server appears, then gives up at its timeout", async () => {
    const path = join(scratch, "late.sock");
    const proc = Bun.spawn([client(), "3000", `unix:${path}`], { stdout: "pipe" });
    await Bun.sleep(300);
    // Response {2: HealthCheckResponse {1: SERVING}}
    const server = fakePeer(path, responseFrame([0x12, 0x02, 0x08, 0x01]));
    try {
      expect(await proc.exited).toBe(0);
      const out = await new Response(proc.stdout).text();
      expect(Number(/attempts=(\d+)/.exec(out)?.[1])).toBeGreaterThan(5);
    } finally {
      server.stop(true);
    }
    const t0 = performance.now();
    const r = runClient(client(), ["200", `unix:${join(scratch, "never.sock")}`]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^ERROR no answer on unix:.*within 200 ms/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  test.each([
    ["NOT_SERVING", [0x12, 0x02, 0x08, 0x02], /ERROR health status 2, not SERVING/],
    ["an error status", [0x0a, 0x02, 0x08, 0x0c], /ERROR status code 12/],
    ["no payload", [], /ERROR health status -1/],
    ["a truncated message", [0x12, 0x09, 0x08], /ERROR malformed/],
  ])("refuses an answer with %s", async (_what, payload, message) => {
    const path = join(scratch, `bad-${Math.random().toString(36).slice(2)}.sock`);
    const server = fakePeer(path, responseFrame(payload as number[]));
    try {
      const r = Bun.spawn([client(), "2000", `unix:${path}`], { stdout: "pipe" });
      expect(await r.exited).toBe(1);
      expect(await new Response(r.stdout).text()).toMatch(message);
    } finally {
      server.stop(true);
    }
  });

  test("refuses a frame that is not a response on its stream", async () => {
    const path = join(scratch, "wrongtype.sock");
    const server = fakePeer(path, responseFrame([0x12, 0x02, 0x08, 0x01], 1));
    try {
      const r = Bun.spawn([client(), "2000", `unix:${path}`], { stdout: "pipe" });
      expect(await r.exited).toBe(1);
      expect(await new Response(r.stdout).text()).toMatch(/ERROR unexpected frame: type 1 stream 1/);
    } finally {
      server.stop(true);
    }
  });
});
