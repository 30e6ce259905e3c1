// In-process server + client over a unix socket in a temp dir: calls, concurrency, and every
// protocol mistake a client can make (answered on its stream; the connection stays up).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "../../src/log/logger.ts";
import type { CallContext } from "../../src/ttrpc/call.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { decodeResponse, encodeRequest } from "../../src/ttrpc/envelope.ts";
import { encodeFrame, Flags, FrameType, HEADER_LENGTH, MAX_MESSAGE, writeHeader } from "../../src/ttrpc/frame.ts";
import { TtrpcServer } from "../../src/ttrpc/server.ts";
import { Code, RpcError } from "../../src/ttrpc/status.ts";

const SVC = "test.Echo";
const quiet = Logger.create();
quiet.setSink(() => {});

const dir = mkdtempSync(join(tmpdir(), "ttrpc-it-"));
const address = `unix://${join(dir, "agent.sock")}`;
const done: Array<{ method: string; code: number }> = [];
const aborted: Array<{ stream: number; reason: unknown }> = [];
let server: TtrpcServer;
let client: TtrpcClient;

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const text = (b: Uint8Array) => Buffer.from(b).toString();

/** Resolves when the call's signal aborts; records the reason. */
function untilAborted(ctx: CallContext): Promise<void> {
  return new Promise((resolve) => ctx.signal.addEventListener("abort", () => {
    aborted.push({ stream: ctx.streamId, reason: ctx.signal.reason });
    resolve();
  }, { once: true }));
}

beforeAll(async () => {
  server = new TtrpcServer({
    log: quiet,
    onCall: (ctx) => (ctx.method === "Blocked" ? new RpcError(Code.UNIMPLEMENTED, `${ctx.method} is blocked`) : undefined),
    onDone: (ctx, code) => done.push({ method: ctx.method, code }),
  });
  server.register(SVC, {
    Echo: (p) => p,
    // Payload: u32 delay in ms, then anything; answers the same bytes after the delay.
    Delay: async (p) => {
      await Bun.sleep(Buffer.from(p).readUInt32BE(0));
      return p;
    },
    // Waits for its deadline / disconnect, then "finishes" anyway: that late answer must be dropped.
    Hang: async (_p, ctx) => {
      await untilAborted(ctx);
      await Bun.sleep(20);
      return Buffer.from("late");
    },
    Context: (_p, ctx) => Buffer.from(JSON.stringify({ md: ctx.metadata, deadline: ctx.deadline ?? null, stream: ctx.streamId })),
    Throw: () => { throw new Error("plain failure"); },
    Reject: async () => { throw new RpcError(Code.NOT_FOUND, "no such thing", [Uint8Array.of(1, 2)]); },
    Big: (p) => Buffer.alloc(Buffer.from(p).readUInt32BE(0), 0x5a),
    Blocked: (p) => p,
  });
  await server.listen(address);
  client = await TtrpcClient.connect(address);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

let unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
process.on("unhandledRejection", onUnhandled);
afterEach(() => {
  expect(unhandled).toEqual([]);
  unhandled = [];
});
afterAll(() => process.off("unhandledRejection", onUnhandled));

/** A request frame made by hand. */
function requestFrame(streamId: number, method: string, payload: Uint8Array = new Uint8Array(0), flags = 0, timeoutNano = 0): Buffer {
  const body = encodeRequest({ service: SVC, method, payload, timeoutNano, metadata: [] }, HEADER_LENGTH);
  writeHeader(body, body.length - HEADER_LENGTH, streamId, FrameType.Request, flags);
  return body;
}

async function statusOn(c: TtrpcClient, streamId: number) {
  const f = await c.waitFrame(streamId);
  expect(f.type).toBe(FrameType.Response);
  return decodeResponse(f.body).status;
}

async function expectHealthy(c = client) {
  expect(text(await c.call(SVC, "Echo", Buffer.from("still here")))).toBe("still here");
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    return e as RpcError;
  }
  throw new Error("call succeeded but should have failed");
}

describe("calls", () => {
  test("echo, empty and binary payloads", async () => {
    expect(text(await client.call(SVC, "Echo", Buffer.from("hello")))).toBe("hello");
    expect((await client.call(SVC, "Echo", new Uint8Array(0))).length).toBe(0);
    const bin = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect([...(await client.call(SVC, "Echo", bin))]).toEqual([...bin]);
  });

  test("100 concurrent calls on one connection complete out of order and match their requests", async () => {
    const order: number[] = [];
    const calls = Array.from({ length: 100 }, (_, i) => {
      const payload = Buffer.concat([u32((100 - i) % 25), Buffer.from(`call-${i}`)]);
      return client.call(SVC, "Delay", payload).then((r) => {
        order.push(i);
        return text(r.subarray(4));
      });
    });
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => `call-${i}`));
    expect(order).not.toEqual([...order].sort((a, b) => a - b)); // really out of order
  });

  test("100 concurrent calls over each of 10 connections", async () => {
    const clients = await Promise.all(Array.from({ length: 10 }, () => TtrpcClient.connect(address)));
    try {
      const all = clients.flatMap((c, ci) =>
        Array.from({ length: 100 }, (_, i) =>
          c.call(SVC, "Delay", Buffer.concat([u32((i * 7 + ci) % 10), Buffer.from(`${ci}/${i}`)])).then((r) => text(r.subarray(4)))));
      const results = await Promise.all(all);
      expect(results).toEqual(clients.flatMap((_, ci) => Array.from({ length: 100 }, (_, i) => `${ci}/${i}`)));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  test("large payloads both ways, many at once (exercises partial writes and drain)", async () => {
    const size = 3 << 20;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) payload[i] = (i >> 12) & 0xff;
    const echoes = await Promise.all(Array.from({ length: 6 }, () => client.call(SVC, "Echo", payload)));
    for (const e of echoes) expect(Buffer.compare(Buffer.from(e), payload)).toBe(0);
    const bigs = await Promise.all(Array.from({ length: 10 }, () => client.call(SVC, "Big", u32(MAX_MESSAGE - 16))));
    for (const b of bigs) {
      expect(b.length).toBe(MAX_MESSAGE - 16);
      expect(b[0]).toBe(0x5a);
      expect(b[b.length - 1]).toBe(0x5a);
    }
  });

  test("metadata and deadline reach the handler", async () => {
    aborted.length = 0;
    const before = Date.now();
    const r = JSON.parse(text(await client.call(SVC, "Context", new Uint8Array(0), {
      metadata: { a: ["1", "2"], b: ["x"] }, timeoutNs: 5e9,
    })));
    expect(r.md).toEqual({ a: ["1", "2"], b: ["x"] });
    expect(r.deadline).toBeGreaterThanOrEqual(before + 4900);
    expect(r.deadline).toBeLessThanOrEqual(Date.now() + 5100);
    expect(r.stream % 2).toBe(1);
    // A deadline beyond setTimeout's range (~24.8 days) must not fire at once.
    const far = JSON.parse(text(await client.call(SVC, "Context", new Uint8Array(0), { timeoutNs: 1e18 })));
    expect(far.deadline).toBeGreaterThan(Date.now() + 1e11);
    const none = JSON.parse(text(await client.call(SVC, "Context", new Uint8Array(0))));
    expect(none.deadline).toBeNull();
    expect(none.md).toEqual({});
    expect(text(await client.call(SVC, "Delay", u32(5), { timeoutNs: 1e18 })).length).toBe(4);
  });

  test("handler errors: RpcError keeps its code and details, anything else is UNKNOWN", async () => {
    const nf = await rpcError(client.call(SVC, "Reject", new Uint8Array(0)));
    expect(nf.code).toBe(Code.NOT_FOUND);
    expect(nf.message).toBe("no such thing");
    expect(nf.details.map((d) => [...d])).toEqual([[1, 2]]);
    const unk = await rpcError(client.call(SVC, "Throw", new Uint8Array(0)));
    expect(unk.code).toBe(Code.UNKNOWN);
    expect(unk.message).toBe("plain failure");
    await expectHealthy();
  });

  test("a response over the size limit is answered RESOURCE_EXHAUSTED instead", async () => {
    const e = await rpcError(client.call(SVC, "Big", u32(MAX_MESSAGE + 1)));
    expect(e.code).toBe(Code.RESOURCE_EXHAUSTED);
    await expectHealthy();
  });

  test("onCall can refuse a call; onDone sees every outcome", async () => {
    done.length = 0;
    const e = await rpcError(client.call(SVC, "Blocked", new Uint8Array(0)));
    expect(e).toMatchObject({ code: Code.UNIMPLEMENTED, message: "Blocked is blocked" });
    await client.call(SVC, "Echo", new Uint8Array(0));
    await rpcError(client.call(SVC, "Reject", new Uint8Array(0)));
    expect(done).toEqual([
      { method: "Blocked", code: Code.UNIMPLEMENTED },
      { method: "Echo", code: Code.OK },
      { method: "Reject", code: Code.NOT_FOUND },
    ]);
  });

  test("aborting a call on the client rejects it with CANCELLED", async () => {
    const ac = new AbortController();
    const p = client.call(SVC, "Delay", u32(200), { signal: ac.signal });
    ac.abort();
    expect((await rpcError(p)).code).toBe(Code.CANCELLED);
    await expectHealthy();
  });
});

describe("errors on a stream, connection stays up", () => {
  test("unknown service → INVALID_ARGUMENT, unknown method → UNIMPLEMENTED", async () => {
    const s = await rpcError(client.call("no.Such", "Echo", new Uint8Array(0)));
    expect(s.code).toBe(Code.INVALID_ARGUMENT);
    expect(s.message).toContain("no.Such");
    const m = await rpcError(client.call(SVC, "Nope", new Uint8Array(0)));
    expect(m.code).toBe(Code.UNIMPLEMENTED);
    expect(m.message).toContain("Nope");
    await expectHealthy();
  });

  test("deadline → DEADLINE_EXCEEDED once, handler aborted, late result dropped", async () => {
    aborted.length = 0;
    const id = client.nextStreamId();
    const t0 = performance.now();
    client.sendRawFrame(requestFrame(id, "Hang", new Uint8Array(0), 0, 50e6));
    const status = await statusOn(client, id);
    expect(status).toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(aborted).toHaveLength(1);
    expect((aborted[0]!.reason as RpcError).code).toBe(Code.DEADLINE_EXCEEDED);
    // The handler returns 20 ms later; nothing more may arrive on that stream.
    expect((await rpcError(client.waitFrame(id, 150))).code).toBe(Code.DEADLINE_EXCEEDED /* our wait timed out */);
    // Through call() as well.
    const e = await rpcError(client.call(SVC, "Hang", new Uint8Array(0), { timeoutNs: 30e6 }));
    expect(e).toMatchObject({ code: Code.DEADLINE_EXCEEDED, message: "context deadline exceeded" });
    await expectHealthy();
  });

  test("undecodable request envelope → INVALID_ARGUMENT", async () => {
    const id = client.nextStreamId();
    client.sendRawFrame(encodeFrame(id, FrameType.Request, 0, Buffer.from("0a05ab", "hex")));
    const st = await statusOn(client, id);
    expect(st!.code).toBe(Code.INVALID_ARGUMENT);
    expect(st!.message).toContain("unmarshal");
    await expectHealthy();
  });

  test("oversize frame: body discarded, RESOURCE_EXHAUSTED on its stream, next call works", async () => {
    const id = client.nextStreamId();
    const length = MAX_MESSAGE + 1000;
    const header = Buffer.alloc(HEADER_LENGTH);
    writeHeader(header, length, id, FrameType.Request, 0);
    client.sendRawFrame(header);
    // The body dribbles in over several writes.
    for (let sent = 0; sent < length; sent += 1 << 20) {
      client.sendRawFrame(Buffer.alloc(Math.min(1 << 20, length - sent), 0x0a));
      await Bun.sleep(1);
    }
    const st = await statusOn(client, id);
    expect(st!.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(st!.message).toContain(String(length));
    await expectHealthy();
  });

  test("even stream id → INVALID_ARGUMENT on that id", async () => {
    client.sendRawFrame(requestFrame(2, "Echo"));
    const st = await statusOn(client, 2);
    expect(st!.code).toBe(Code.INVALID_ARGUMENT);
    expect(st!.message).toContain("odd");
    await expectHealthy();
  });

  test("reused (non-rising) stream id → INVALID_ARGUMENT", async () => {
    const c = await TtrpcClient.connect(address);
    try {
      await c.call(SVC, "Echo", new Uint8Array(0)); // uses id 1
      c.sendRawFrame(requestFrame(1, "Echo"));
      const st = await statusOn(c, 1);
      expect(st!.code).toBe(Code.INVALID_ARGUMENT);
      await expectHealthy(c);
    } finally {
      await c.close();
    }
  });

  test("data frame on an idle stream → INVALID_ARGUMENT", async () => {
    const id = client.nextStreamId();
    client.sendRawFrame(encodeFrame(id, FrameType.Data, Flags.RemoteClosed, Buffer.from("x")));
    expect((await statusOn(client, id))!.code).toBe(Code.INVALID_ARGUMENT);
    await expectHealthy();
  });

  test("data frame on a live unary call fails that call once and aborts its handler", async () => {
    aborted.length = 0;
    const id = client.nextStreamId();
    client.sendRawFrame(requestFrame(id, "Hang"));
    await Bun.sleep(10);
    client.sendRawFrame(encodeFrame(id, FrameType.Data, 0, Buffer.from("x")));
    expect((await statusOn(client, id))!.code).toBe(Code.INVALID_ARGUMENT);
    expect(aborted.map((a) => a.stream)).toEqual([id]);
    expect((await rpcError(client.waitFrame(id, 100))).code).toBe(Code.DEADLINE_EXCEEDED);
    await expectHealthy();
  });

  test("request with 'remote open' (client streaming) → UNIMPLEMENTED; 'remote closed' alone is served", async () => {
    const open = client.nextStreamId();
    client.sendRawFrame(requestFrame(open, "Echo", Buffer.from("a"), Flags.RemoteOpen));
    expect((await statusOn(client, open))!.code).toBe(Code.UNIMPLEMENTED);
    const closed = client.nextStreamId();
    client.sendRawFrame(requestFrame(closed, "Echo", Buffer.from("b"), Flags.RemoteClosed));
    const f = await client.waitFrame(closed);
    const r = decodeResponse(f.body);
    expect(r.status).toBeUndefined(); // OK answers carry no status field
    expect(text(r.payload)).toBe("b");
  });

  test("response frames and unknown frame types from a client are ignored", async () => {
    const id = client.nextStreamId();
    client.sendRawFrame(encodeFrame(id, FrameType.Response, 0, Buffer.from("zz")));
    client.sendRawFrame(encodeFrame(id, 0x7f, 0xff, Buffer.from("zz")));
    expect((await rpcError(client.waitFrame(id, 100))).code).toBe(Code.DEADLINE_EXCEEDED);
    await expectHealthy();
  });
});

describe("clients going away", () => {
  test("disconnect mid-call: handlers aborted, late answers dropped, server healthy", async () => {
    aborted.length = 0;
    done.length = 0;
    const c = await TtrpcClient.connect(address);
    const pending = [c.call(SVC, "Hang", new Uint8Array(0)), c.call(SVC, "Delay", u32(30)), c.call(SVC, "Hang", new Uint8Array(0))];
    await Bun.sleep(10);
    await c.close();
    for (const p of pending) expect((await rpcError(p)).code).toBe(Code.UNAVAILABLE);
    await Bun.sleep(80); // the handlers finish into a closed socket
    expect(aborted).toHaveLength(2);
    expect(done.map((d) => d.code)).toEqual([Code.CANCELLED, Code.CANCELLED, Code.CANCELLED]);
    await expectHealthy();
  });

  test("a client that vanishes mid-frame does not disturb others", async () => {
    const before = server.connectionCount;
    const sock = await Bun.connect({ unix: address.slice("unix://".length), socket: { data() {} } });
    sock.write(requestFrame(1, "Echo").subarray(0, 13)); // header + 3 bytes of body
    await Bun.sleep(10);
    sock.end();
    await Bun.sleep(20);
    expect(server.connectionCount).toBe(before);
    await expectHealthy();
  });
});
