// ttRPC's own envelopes (containerd/ttrpc request.proto), encoded by hand:
//   Request  { string service = 1; string method = 2; bytes payload = 3; int64 timeout_nano = 4;
//              repeated KeyValue metadata = 5; }          KeyValue { string key = 1; string value = 2; }
//   Response { google.rpc.Status status = 1; bytes payload = 2; }
//   Status   { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
// Encoders size the message first and write it into one buffer that can start with room for the
// frame header, so a frame costs one allocation and one copy of the payload. Decoders use our
// small wire reader (not the protobuf runtime, which the server does not need to load at
// start-up), return payloads as views (no copy) and reject wrong wire types.
import { WireReader as Reader } from "./wire-reader.ts";

export interface KeyValue {
  key: string;
  value: string;
}

export interface Request {
  service: string;
  method: string;
  payload: Uint8Array;
  /** 0 = no deadline. Numbers are exact up to 2^53 ns (104 days), plenty for a timeout. */
  timeoutNano: number;
  metadata: KeyValue[];
}

export interface Status {
  code: number;
  message: string;
  /** Encoded google.protobuf.Any messages, kept opaque. */
  details: Uint8Array[];
}

export interface Response {
  /** Absent = OK (Go omits it); an empty status also means OK (Rust sends one). */
  status?: Status;
  payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const WIRE_VARINT = 0;
const WIRE_LEN = 2;

// ---- sizing and writing ----------------------------------------------------------------------

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Non-negative integers up to 2^53; int64/int32 negatives never reach here (clamped by callers). */
function writeVarint(buf: Uint8Array, at: number, v: number): number {
  while (v >= 128) {
    buf[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}

/** Size of a length-delimited field (tag + length + body). Tags of fields 1..15 are one byte. */
function lenFieldSize(bodyLength: number): number {
  return 1 + varintSize(bodyLength) + bodyLength;
}

function writeBytesField(buf: Buffer, at: number, field: number, body: Uint8Array): number {
  buf[at++] = (field << 3) | WIRE_LEN;
  at = writeVarint(buf, at, body.length);
  buf.set(body, at);
  return at + body.length;
}

function writeStringField(buf: Buffer, at: number, field: number, s: string, byteLength: number): number {
  buf[at++] = (field << 3) | WIRE_LEN;
  at = writeVarint(buf, at, byteLength);
  return at + buf.write(s, at, byteLength, "utf8");
}

// int32 codes are written as unsigned 32-bit here; negative codes do not exist in gRPC.
function statusBodySize(s: Status, messageBytes: number): number {
  let n = 0;
  if (s.code !== 0) n += 1 + varintSize(s.code >>> 0);
  if (messageBytes > 0) n += lenFieldSize(messageBytes);
  for (const d of s.details) n += lenFieldSize(d.length);
  return n;
}

/** Response encoded after `headerRoom` spare bytes (pass HEADER_LENGTH to write the frame header in place). */
export function encodeResponse(r: Response, headerRoom = 0): Buffer {
  const payload = r.payload;
  const s = r.status;
  const messageBytes = s ? Buffer.byteLength(s.message, "utf8") : 0;
  const statusSize = s ? statusBodySize(s, messageBytes) : 0;
  let size = payload.length > 0 ? lenFieldSize(payload.length) : 0;
  if (s) size += lenFieldSize(statusSize);
  const buf = Buffer.allocUnsafe(headerRoom + size);
  let at = headerRoom;
  if (s) {
    buf[at++] = (1 << 3) | WIRE_LEN;
    at = writeVarint(buf, at, statusSize);
    if (s.code !== 0) {
      buf[at++] = (1 << 3) | WIRE_VARINT;
      at = writeVarint(buf, at, s.code >>> 0);
    }
    if (messageBytes > 0) at = writeStringField(buf, at, 2, s.message, messageBytes);
    for (const d of s.details) at = writeBytesField(buf, at, 3, d);
  }
  if (payload.length > 0) writeBytesField(buf, at, 2, payload);
  return buf;
}

/**
 * The start of an OK Response whose payload (field 2) is `payloadLength` bytes that follow
 * separately: headerRoom spare bytes, the field tag and the length. No status field.
 */
export function encodeResponsePrefix(payloadLength: number, headerRoom = 0): Buffer {
  if (payloadLength === 0) return Buffer.alloc(headerRoom);
  const buf = Buffer.allocUnsafe(headerRoom + 1 + varintSize(payloadLength));
  buf[headerRoom] = (2 << 3) | WIRE_LEN;
  writeVarint(buf, headerRoom + 1, payloadLength);
  return buf;
}

/** Request encoded after `headerRoom` spare bytes. */
export function encodeRequest(r: Request, headerRoom = 0): Buffer {
  const serviceBytes = Buffer.byteLength(r.service, "utf8");
  const methodBytes = Buffer.byteLength(r.method, "utf8");
  const timeout = r.timeoutNano > 0 ? Math.floor(r.timeoutNano) : 0;
  let size = 0;
  if (serviceBytes > 0) size += lenFieldSize(serviceBytes);
  if (methodBytes > 0) size += lenFieldSize(methodBytes);
  if (r.payload.length > 0) size += lenFieldSize(r.payload.length);
  if (timeout > 0) size += 1 + varintSize(timeout);
  const kvSizes: number[] = [];
  for (const kv of r.metadata) {
    const k = Buffer.byteLength(kv.key, "utf8");
    const v = Buffer.byteLength(kv.value, "utf8");
    kvSizes.push(k, v);
    size += lenFieldSize((k > 0 ? lenFieldSize(k) : 0) + (v > 0 ? lenFieldSize(v) : 0));
  }
  const buf = Buffer.allocUnsafe(headerRoom + size);
  let at = headerRoom;
  if (serviceBytes > 0) at = writeStringField(buf, at, 1, r.service, serviceBytes);
  if (methodBytes > 0) at = writeStringField(buf, at, 2, r.method, methodBytes);
  if (r.payload.length > 0) at = writeBytesField(buf, at, 3, r.payload);
  if (timeout > 0) {
    buf[at++] = (4 << 3) | WIRE_VARINT;
    at = writeVarint(buf, at, timeout);
  }
  r.metadata.forEach((kv, i) => {
    const k = kvSizes[2 * i]!;
    const v = kvSizes[2 * i + 1]!;
    buf[at++] = (5 << 3) | WIRE_LEN;
    at = writeVarint(buf, at, (k > 0 ? lenFieldSize(k) : 0) + (v > 0 ? lenFieldSize(v) : 0));
    if (k > 0) at = writeStringField(buf, at, 1, kv.key, k);
    if (v > 0) at = writeStringField(buf, at, 2, kv.value, v);
  });
  return buf;
}

// ---- decoding ------------------------------------------------------------------------------------

/** Thrown for bytes that are not a valid envelope. */
export class EnvelopeError extends Error {
  override name = "EnvelopeError";
}

function expectWire(field: number, got: number, want: number): void {
  if (got !== want) throw new EnvelopeError(`field ${field}: wire type ${got}, expected ${want}`);
}

/** Runs a decoder, turning the reader's RangeErrors (truncated input) into EnvelopeError. */
function decoding<T>(what: string, buf: Uint8Array, f: (r: Reader) => T): T {
  try {
    return f(new Reader(buf));
  } catch (e) {
    if (e instanceof EnvelopeError) throw new EnvelopeError(`${what}: ${e.message}`);
    throw new EnvelopeError(`${what}: ${(e as Error).message}`);
  }
}

/** A string field: its bytes (bounds-checked) decoded as UTF-8. */
// Invalid UTF-8 becomes U+FFFD, as with Buffer's toString; a TextDecoder, because the first
// Buffer-view toString of a process costs ~0.2 ms, and the first call decodes two strings.
const utf8 = new TextDecoder();

function readString(r: Reader): string {
  return utf8.decode(r.bytes());
}

function readKeyValue(r: Reader, end: number): KeyValue {
  const kv: KeyValue = { key: "", value: "" };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) { expectWire(1, wire, WIRE_LEN); kv.key = readString(r); }
    else if (field === 2) { expectWire(2, wire, WIRE_LEN); kv.value = readString(r); }
    else r.skipType(wire);
  }
  return kv;
}

export function decodeRequest(buf: Uint8Array): Request {
  return decoding("request", buf, (r) => {
    const req: Request = { service: "", method: "", payload: EMPTY, timeoutNano: 0, metadata: [] };
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      switch (field) {
        case 1: expectWire(1, wire, WIRE_LEN); req.service = readString(r); break;
        case 2: expectWire(2, wire, WIRE_LEN); req.method = readString(r); break;
        case 3: expectWire(3, wire, WIRE_LEN); req.payload = r.bytes(); break;
        case 4: expectWire(4, wire, WIRE_VARINT); req.timeoutNano = r.int64(); break;
        case 5: {
          expectWire(5, wire, WIRE_LEN);
          const len = r.uint32();
          const end = r.pos + len;
          if (end > r.len) throw new EnvelopeError("metadata entry runs past the end");
          req.metadata.push(readKeyValue(r, end));
          if (r.pos !== end) throw new EnvelopeError("metadata entry overruns its length");
          break;
        }
        default:
          if (field === 0) throw new EnvelopeError("field number 0");
          r.skipType(wire);
      }
    }
    return req;
  });
}

function readStatus(r: Reader, end: number): Status {
  const s: Status = { code: 0, message: "", details: [] };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) { expectWire(1, wire, WIRE_VARINT); s.code = r.int32(); }
    else if (field === 2) { expectWire(2, wire, WIRE_LEN); s.message = readString(r); }
    else if (field === 3) { expectWire(3, wire, WIRE_LEN); s.details.push(r.bytes()); }
    else r.skipType(wire);
  }
  return s;
}

export function decodeResponse(buf: Uint8Array): Response {
  return decoding("response", buf, (r) => {
    const resp: Response = { payload: EMPTY };
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1) {
        expectWire(1, wire, WIRE_LEN);
        const len = r.uint32();
        const end = r.pos + len;
        if (end > r.len) throw new EnvelopeError("status runs past the end");
        resp.status = readStatus(r, end);
        if (r.pos !== end) throw new EnvelopeError("status overruns its length");
      } else if (field === 2) {
        expectWire(2, wire, WIRE_LEN);
        resp.payload = r.bytes();
      } else {
        if (field === 0) throw new EnvelopeError("field number 0");
        r.skipType(wire);
      }
    }
    return resp;
  });
}
