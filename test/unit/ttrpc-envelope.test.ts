import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decodeRequest, decodeResponse, encodeRequest, encodeResponse, EnvelopeError, type Request,
} from "../../src/ttrpc/envelope.ts";
import { missing } from "../helpers/require.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("Request", () => {
  test("known encoding, field by field", () => {
    const req: Request = {
      service: "s", method: "m", payload: Uint8Array.of(1, 2), timeoutNano: 300, metadata: [{ key: "k", value: "v" }],
    };
    // 0a 01 's' | 12 01 'm' | 1a 02 01 02 | 20 ac 02 (300) | 2a 06 (0a 01 'k' 12 01 'v')
    expect(hex(encodeRequest(req))).toBe("0a0173" + "12016d" + "1a020102" + "20ac02" + "2a060a016b120176");
  });

  test("round-trips, including a timeout above 2^32 ns and repeated metadata keys", () => {
    const req: Request = {
      service: "grpc.AgentService", method: "CreateContainer", payload: Buffer.from("ßé payload"),
      timeoutNano: 30_000_000_000, metadata: [{ key: "a", value: "1" }, { key: "a", value: "2" }, { key: "", value: "" }],
    };
    const back = decodeRequest(encodeRequest(req));
    expect({ ...back, payload: [...back.payload] }).toEqual({ ...req, payload: [...req.payload] });
  });

  test("headerRoom leaves spare bytes in front", () => {
    const req: Request = { service: "s", method: "m", payload: new Uint8Array(0), timeoutNano: 0, metadata: [] };
    const plain = encodeRequest(req);
    const roomy = encodeRequest(req, 10);
    expect(roomy.length).toBe(plain.length + 10);
    expect(hex(roomy.subarray(10))).toBe(hex(plain));
  });

  test("empty message decodes to defaults; unknown fields are skipped", () => {
    expect(decodeRequest(new Uint8Array(0))).toEqual({ service: "", method: "", payload: new Uint8Array(0), timeoutNano: 0, metadata: [] });
    // field 9 varint 1, field 10 fixed64, then service "x"
    const withUnknown = Buffer.from("4801" + "51" + "0000000000000000" + "0a0178", "hex");
    expect(decodeRequest(withUnknown).service).toBe("x");
  });

  test("payload is a view into the input (no copy)", () => {
    const buf = encodeRequest({ service: "", method: "", payload: Uint8Array.of(7, 7, 7), timeoutNano: 0, metadata: [] });
    expect(decodeRequest(buf).payload.buffer).toBe(buf.buffer);
  });

  test.each([
    ["truncated length", "0a05ab"],
    ["truncated varint", "20ff"],
    ["wrong wire type for service", "0801"],
    ["wrong wire type for timeout", "2201ff"],
    ["field number 0", "0001"],
    ["metadata entry past the end", "2a0a0a016b"],
    ["garbage", "ffffffffffffffffffff"],
  ])("rejects %s", (_, bytes) => {
    expect(() => decodeRequest(Buffer.from(bytes, "hex"))).toThrow(EnvelopeError);
  });
});

describe("Response", () => {
  test("OK is encoded without a status field", () => {
    expect(hex(encodeResponse({ payload: Uint8Array.of(5) }))).toBe("12" + "01" + "05");
    expect(hex(encodeResponse({ payload: new Uint8Array(0) }))).toBe("");
  });

  test("error status: code, message and details", () => {
    const bytes = encodeResponse({ status: { code: 5, message: "nf", details: [Uint8Array.of(0xab)] }, payload: new Uint8Array(0) });
    // 0a 09 (08 05 | 12 02 'n' 'f' | 1a 01 ab)
    expect(hex(bytes)).toBe("0a09" + "0805" + "12026e66" + "1a01ab");
    const back = decodeResponse(bytes);
    expect(back.status!.code).toBe(5);
    expect(back.status!.message).toBe("nf");
    expect(back.status!.details.map((d) => [...d])).toEqual([[0xab]]);
  });

  test("an empty status (what Rust ttrpc sends on success) decodes as code 0", () => {
    const back = decodeResponse(Buffer.from("0a00" + "120161", "hex"));
    expect(back.status).toEqual({ code: 0, message: "", details: [] });
    expect(Buffer.from(back.payload).toString()).toBe("a");
  });

  test.each([
    ["status overruns", "0a050801"],
    ["status wire type", "0801"],
    ["payload truncated", "1205aa"],
  ])("rejects %s", (_, bytes) => {
    expect(() => decodeResponse(Buffer.from(bytes, "hex"))).toThrow(EnvelopeError);
  });
});

// Cross-check with an independent encoder when protoc is installed (it is on the project machine).
const protoc = ["/usr/bin/protoc", "/usr/local/bin/protoc"].find(existsSync);
describe.skipIf(missing({ "protoc (protobuf-compiler)": !!protoc }))("agrees with protoc", () => {
  const dir = mkdtempSync(join(tmpdir(), "ttrpc-proto-"));
  writeFileSync(join(dir, "t.proto"), `syntax = "proto3";
message KeyValue { string key = 1; string value = 2; }
message Request { string service = 1; string method = 2; bytes payload = 3; int64 timeout_nano = 4; repeated KeyValue metadata = 5; }
message Status { int32 code = 1; string message = 2; }
message Response { Status status = 1; bytes payload = 2; }
`);
  const encode = (type: string, text: string) => {
    const r = Bun.spawnSync([protoc!, `-I${dir}`, `--encode=${type}`, join(dir, "t.proto")], { stdin: Buffer.from(text) });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
    return hex(r.stdout);
  };

  test("Request", () => {
    const ours = encodeRequest({
      service: "grpc.Health", method: "Check", payload: Buffer.from("xyz"), timeoutNano: 12_345_678_901,
      metadata: [{ key: "k1", value: "v1" }, { key: "k2", value: "ü" }],
    });
    expect(hex(ours)).toBe(encode("Request",
      'service: "grpc.Health" method: "Check" payload: "xyz" timeout_nano: 12345678901 ' +
      'metadata { key: "k1" value: "v1" } metadata { key: "k2" value: "\\303\\274" }'));
  });

  test("Response", () => {
    const ours = encodeResponse({ status: { code: 12, message: "method x", details: [] }, payload: Buffer.from("p") });
    expect(hex(ours)).toBe(encode("Response", 'status { code: 12 message: "method x" } payload: "p"'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});
