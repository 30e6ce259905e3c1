import { describe, expect, test } from "bun:test";
import {
  encodeFrame, FrameParser, FrameType, HEADER_LENGTH, MAX_MESSAGE, readHeader, writeHeader, type FrameSink,
} from "../../src/ttrpc/frame.ts";

type Seen =
  | { kind: "frame"; streamId: number; type: number; flags: number; body: number[] }
  | { kind: "oversize"; streamId: number; type: number; flags: number; length: number };

class Recorder implements FrameSink {
  seen: Seen[] = [];
  bodies: Uint8Array[] = [];
  onFrame(streamId: number, type: number, flags: number, body: Uint8Array): void {
    this.bodies.push(body);
    this.seen.push({ kind: "frame", streamId, type, flags, body: [...body] });
  }
  onOversize(streamId: number, type: number, flags: number, length: number): void {
    this.seen.push({ kind: "oversize", streamId, type, flags, length });
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** A header claiming `length` bytes, without the body. */
function headerOnly(length: number, streamId: number, type: number, flags = 0): Uint8Array {
  const h = new Uint8Array(HEADER_LENGTH);
  writeHeader(h, length, streamId, type, flags);
  return h;
}

describe("frame header", () => {
  test("is big-endian length, stream id, type, flags", () => {
    const f = encodeFrame(0x01020304, FrameType.Data, 0x05, Uint8Array.of(0xaa, 0xbb));
    expect([...f]).toEqual([0, 0, 0, 2, 1, 2, 3, 4, 3, 5, 0xaa, 0xbb]);
    expect(readHeader(f)).toEqual({ length: 2, streamId: 0x01020304, type: 3, flags: 5 });
  });

  test("round-trips ids and lengths above 2^31", () => {
    const h = headerOnly(0xfffffffe, 0xffffffff, 0xff, 0xff);
    expect(readHeader(h)).toEqual({ length: 0xfffffffe, streamId: 0xffffffff, type: 0xff, flags: 0xff });
  });
});

describe("FrameParser", () => {
  const frames = [
    encodeFrame(1, FrameType.Request, 0, Buffer.from("hello")),
    encodeFrame(3, FrameType.Request, 2, new Uint8Array(0)), // empty body
    encodeFrame(5, FrameType.Data, 1, Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)),
    encodeFrame(7, FrameType.Response, 0, Uint8Array.of(9)),
  ];
  const stream = concat(frames);
  const expected: Seen[] = [
    { kind: "frame", streamId: 1, type: 1, flags: 0, body: [...Buffer.from("hello")] },
    { kind: "frame", streamId: 3, type: 1, flags: 2, body: [] },
    { kind: "frame", streamId: 5, type: 3, flags: 1, body: Array.from({ length: 300 }, (_, i) => i & 0xff) },
    { kind: "frame", streamId: 7, type: 2, flags: 0, body: [9] },
  ];

  test("several frames in one chunk", () => {
    const r = new Recorder();
    const p = new FrameParser(r);
    p.push(stream);
    expect(r.seen).toEqual(expected);
    expect(p.idle).toBe(true);
  });

  test("a body inside one chunk is a view of that chunk, not a copy", () => {
    const r = new Recorder();
    new FrameParser(r).push(stream);
    expect(r.bodies[0]!.buffer).toBe(stream.buffer);
  });

  test("split into two chunks at every byte boundary", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = new Recorder();
      const p = new FrameParser(r);
      p.push(stream.subarray(0, cut));
      p.push(stream.subarray(cut));
      expect(r.seen).toEqual(expected);
      expect(p.idle).toBe(true);
    }
  });

  test("fed one byte at a time", () => {
    const r = new Recorder();
    const p = new FrameParser(r);
    for (let i = 0; i < stream.length; i++) {
      p.push(stream.subarray(i, i + 1));
      if (i < stream.length - 1) expect(p.idle).toBe(r.seen.length > 0 && i + 1 === cumulative(r.seen.length));
    }
    expect(r.seen).toEqual(expected);
  });

  function cumulative(n: number): number {
    return frames.slice(0, n).reduce((sum, f) => sum + f.length, 0);
  }

  test("an assembled body is not overwritten by later chunks", () => {
    const r = new Recorder();
    const p = new FrameParser(r);
    const scratch = new Uint8Array(stream.length);
    scratch.set(stream);
    // Feed through one reused scratch buffer, clobbering it after each push.
    for (let at = 0; at < stream.length; at += 7) {
      const piece = stream.subarray(at, at + 7);
      const reused = scratch.subarray(0, piece.length);
      reused.set(piece);
      p.push(reused);
      reused.fill(0xee);
    }
    // Bodies that spanned chunks ("hello" at bytes 10..14, the 300-byte one) were assembled in their
    // own buffers and survive the clobbering.
    expect(Buffer.from(r.bodies[0]!).toString()).toBe("hello");
    expect([...r.bodies[2]!]).toEqual(Array.from({ length: 300 }, (_, i) => i & 0xff));
  });

  test("oversize frame: body skipped across chunks, reported once, next frame parsed", () => {
    const max = 16;
    const big = 1000;
    const after = encodeFrame(11, FrameType.Request, 0, Buffer.from("after"));
    const all = concat([headerOnly(big, 9, FrameType.Request), new Uint8Array(big).fill(0x41), after]);
    for (const step of [1, 3, 10, 64, 999, all.length]) {
      const r = new Recorder();
      const p = new FrameParser(r, max);
      for (let at = 0; at < all.length; at += step) {
        p.push(all.subarray(at, at + step));
        // The oversize notice comes only once the whole body has gone by.
        if (at + step < HEADER_LENGTH + big) expect(r.seen).toEqual([]);
      }
      expect(r.seen).toEqual([
        { kind: "oversize", streamId: 9, type: 1, flags: 0, length: big },
        { kind: "frame", streamId: 11, type: 1, flags: 0, body: [...Buffer.from("after")] },
      ]);
    }
  });

  test("4 MiB body is accepted, one byte more is oversize", () => {
    const r = new Recorder();
    const p = new FrameParser(r);
    p.push(headerOnly(MAX_MESSAGE, 1, FrameType.Request));
    p.push(new Uint8Array(MAX_MESSAGE));
    p.push(headerOnly(MAX_MESSAGE + 1, 3, FrameType.Request));
    p.push(new Uint8Array(MAX_MESSAGE + 1));
    expect(r.seen.map((s) => s.kind)).toEqual(["frame", "oversize"]);
    expect(r.bodies[0]!.length).toBe(MAX_MESSAGE);
  });

  test("oversize header with an empty skip still reports (maxMessage 0, zero-length is fine)", () => {
    const r = new Recorder();
    const p = new FrameParser(r, 0);
    p.push(concat([headerOnly(0, 1, 1), headerOnly(1, 3, 1), Uint8Array.of(7)]));
    expect(r.seen).toEqual([
      { kind: "frame", streamId: 1, type: 1, flags: 0, body: [] },
      { kind: "oversize", streamId: 3, type: 1, flags: 0, length: 1 },
    ]);
  });
});
