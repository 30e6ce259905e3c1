// Flow control per connection (issue 14 #3): a client that pipelines calls and never reads its
// socket must not make the server queue answers without bound, and a client with thousands of
// calls in flight is held at the cap. Other connections keep being served meanwhile.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { Logger } from "../../src/log/logger.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { encodeRequest } from "../../src/ttrpc/envelope.ts";
import { FrameType, HEADER_LENGTH, writeHeader } from "../../src/ttrpc/frame.ts";
import { TtrpcServer } from "../../src/ttrpc/server.ts";

const SVC = "test.Flow";
const quiet = Logger.create();
quiet.setSink(() => {});
const dir = mkdtempSync(join(tmpdir(), "ttrpc-flow-"));
const path = join(dir, "agent.sock");
const MAX_UNSENT = 2 << 20;
const MAX_CALLS = 64;
let server: TtrpcServer;
let held: Array<() => void> = [];

beforeAll(async () => {
  server = new TtrpcServer({ log: quiet, limits: { maxUnsentBytes: MAX_UNSENT, maxCallsInFlight: MAX_CALLS } });
  server.register(SVC, {
    Echo: (p) => p,
    Big: () => Buffer.alloc(64 << 10, 0x5a),
    Hold: () => new Promise<Uint8Array>((resolve) => held.push(() => resolve(Buffer.from("ok")))),
  });
  await server.listen(`unix://${path}`);
});

afterAll(async () => {
  await server?.close(200);
  rmSync(dir, { recursive: true, force: true });
});

function frames(method: string, count: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const body = encodeRequest({ service: SVC, method, payload: new Uint8Array(0), timeoutNano: 0, metadata: [] }, HEADER_LENGTH);
    writeHeader(body, body.length - HEADER_LENGTH, 2 * i + 1, FrameType.Request, 0);
    parts.push(body);
  }
  return Buffer.concat(parts);
}

/** A raw client that writes everything (retrying on drain) and counts response frames it reads,
 *  or reads nothing at all while `paused`. */
async function rawClient(bytes: Buffer, paused: boolean) {
  let rest = bytes;
  let received = 0;
  const push = (s: Socket<unknown>) => {
    while (rest.length > 0) {
      const n = s.write(rest);
      if (n <= 0) return;
      rest = rest.subarray(n);
    }
  };
  const sock = await Bun.connect({
    unix: path,
    socket: {
      open(s) { if (paused) s.pause(); push(s); },
      drain(s) { push(s); },
      data(_s, chunk) { received += chunk.length; },
    },
  });
  return { sock, received: () => received, left: () => rest.length };
}

test("unsent answers stay bounded for a client that never reads; another connection is served", async () => {
  // 2,000 answers of 64 KiB = 125 MiB if the server queued them all.
  const hog = await rawClient(frames("Big", 2000), true);
  await Bun.sleep(1500);
  const stats = server.connectionStats();
  const worst = Math.max(...stats.map((s) => s.unsentBytes));
  expect(worst).toBeLessThan(MAX_UNSENT + (256 << 10));
  expect(stats.some((s) => s.paused)).toBe(true);
  const other = await TtrpcClient.connect(`unix://${path}`);
  try {
    expect(Buffer.from(await other.call(SVC, "Echo", Buffer.from("hi"))).toString()).toBe("hi");
  } finally {
    await other.close();
  }
  hog.sock.terminate();
});

test("calls in flight per connection are capped; all are answered once they finish", async () => {
  const count = 1000;
  const c = await rawClient(frames("Hold", count), false);
  await Bun.sleep(500);
  const inFlight = Math.max(...server.connectionStats().map((s) => s.inFlight));
  expect(inFlight).toBeLessThanOrEqual(MAX_CALLS);
  expect(inFlight).toBeGreaterThan(0);
  // Release held calls until every request has been answered ("ok" answers: 10-byte header +
  // a 4-byte envelope each).
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && c.received() < count * 14) {
    for (const release of held.splice(0)) release();
    await Bun.sleep(20);
  }
  expect(c.left()).toBe(0);
  expect(c.received()).toBe(count * 14);
  c.sock.terminate();
});
