// The envelope's wire reader against protobufjs's Reader (which it replaced on the server's
// start-up path): same values for valid input, both throw on truncated input.
import { describe, expect, test } from "bun:test";
import { Reader, Writer, util } from "protobufjs/minimal.js";
import { WireReader } from "../../src/ttrpc/wire-reader.ts";

const outcome = (f: () => unknown): unknown => {
  try {
    return { ok: f() };
  } catch (e) {
    return { threw: e instanceof RangeError || e instanceof Error };
  }
};
const toNum = (v: unknown) => (typeof v === "number" ? v : (v as { toNumber(): number }).toNumber());

describe("WireReader agrees with protobufjs's Reader", () => {
  const u32 = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31, 2 ** 32 - 1];
  test("uint32 and int32 of every varint length, and a 10-byte negative int32", () => {
    for (const v of [...u32, -1, -(2 ** 31)]) {
      const bytes = Writer.create().int32(v).finish();
      const ours = new WireReader(bytes);
      const theirs = Reader.create(bytes);
      expect(ours.int32()).toBe(theirs.int32());
      expect(ours.pos).toBe(theirs.pos);
      if (v >= 0) expect(new WireReader(Writer.create().uint32(v).finish()).uint32()).toBe(v >>> 0);
    }
  });

  test("int64 (ttRPC's timeout_nano) over the whole range, negative included", () => {
    const vals = [0, 1, 1e9, 30e9, 2 ** 35 + 7, 2 ** 52, Number.MAX_SAFE_INTEGER, -1, -1e9, -(2 ** 40)];
    for (const v of vals) {
      const bytes = Writer.create().int64(util.LongBits.fromNumber(v) as never).finish();
      const r = new WireReader(bytes);
      expect(r.int64()).toBe(toNum(Reader.create(bytes).int64()));
      expect(r.pos).toBe(bytes.length);
    }
  });

  test("bytes are views of the input; skipType moves over every wire type as protobufjs does", () => {
    const w = Writer.create();
    w.uint32((1 << 3) | 2).bytes(new Uint8Array([1, 2, 3]));
    w.uint32((2 << 3) | 0).uint64(2 ** 40);
    w.uint32((3 << 3) | 1).fixed64(5);
    w.uint32((4 << 3) | 5).fixed32(6);
    w.uint32((5 << 3) | 3).uint32((1 << 3) | 0).uint32(9).uint32((5 << 3) | 4);
    w.uint32((6 << 3) | 2).string("x");
    const bytes = w.finish();
    const ours = new WireReader(bytes);
    const theirs = Reader.create(bytes);
    ours.uint32(), theirs.uint32();
    const view = ours.bytes();
    expect([...view]).toEqual([...theirs.bytes()]);
    expect(view.buffer).toBe(bytes.buffer);
    while (theirs.pos < theirs.len) {
      const tag = theirs.uint32();
      expect(ours.uint32()).toBe(tag);
      theirs.skipType(tag & 7);
      ours.skipType(tag & 7);
      expect(ours.pos).toBe(theirs.pos);
    }
  });

  test("truncated or malformed input throws in both", () => {
    const cases: [number[], (r: WireReader | Reader) => unknown][] = [
      [[0x80], (r) => r.uint32()],
      [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], (r) => r.uint32()],
      [[0x05, 1, 2], (r) => r.bytes()],
      [[0x80, 0x80], (r) => r.skipType(0)],
      [[1, 2, 3], (r) => r.skipType(1)],
      [[1, 2], (r) => r.skipType(5)],
      [[0x09, 1], (r) => r.skipType(2)],
      [[], (r) => r.skipType(6)],
      [[], (r) => r.skipType(7)],
    ];
    for (const [b, f] of cases) {
      const bytes = new Uint8Array(b);
      expect(outcome(() => f(new WireReader(bytes)))).toEqual({ threw: true });
      expect(outcome(() => f(Reader.create(bytes)))).toEqual({ threw: true });
    }
    expect(() => new WireReader(new Uint8Array([0x80, 0x80])).int64()).toThrow(RangeError);
  });
});
