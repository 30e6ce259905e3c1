// Coerces one value onto a proto field's type, from JSON (json://, file://) or from the text of a
// name=value word. Errors name the field path. Results are what fromObject (reflection) takes:
// numbers for integers and enums, Uint8Array for bytes.
import type protobuf from "protobufjs";
import { CtlSyntaxError } from "./errors.ts";
import type { ScalarKind } from "./schema.ts";
import { parseSignal } from "./signals.ts";
import { decodeEscapes } from "./words.ts";

/** Where a value came from: a JSON document, or the text of a name=value word. */
export type Source = "json" | "word";

const INT_RANGE: Record<string, [number, number]> = {
  int: [-0x80000000, 0x7fffffff],
  uint: [0, 0xffffffff],
  // 64-bit fields are JS numbers (src/gen uses --force-number): exact only up to 2^53.
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

function fail(path: string, why: string): never {
  throw new CtlSyntaxError(`${path}: ${why}`);
}

function integer(path: string, kind: ScalarKind, value: unknown, fieldName: string): number {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string") {
    const t = value.trim();
    if (fieldName === "signal" && !/^-?\d/.test(t)) {
      const sig = parseSignal(t);
      if (sig === undefined) fail(path, `unknown signal "${value}" (use a number or a name like SIGKILL, TERM, usr1)`);
      return sig;
    }
    if (/^-?\d+$/.test(t)) n = Number(t);
    else if (/^0x[0-9a-f]+$/i.test(t)) n = parseInt(t.slice(2), 16);
    else fail(path, `"${value}" is not an integer`);
  } else fail(path, `expected an integer, got ${JSON.stringify(value)}`);
  if (!Number.isInteger(n)) fail(path, `${n} is not an integer`);
  const [lo, hi] = INT_RANGE[kind]!;
  if (n < lo || n > hi) fail(path, `${n} is out of range for ${kind === "int" ? "int32" : kind === "uint" ? "uint32" : kind} (${lo}..${hi})`);
  return n;
}

function bool(path: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number" && (value === 0 || value === 1)) return value === 1;
  if (typeof value === "string") {
    const t = value.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(t)) return true;
    if (["false", "0", "no", "off"].includes(t)) return false;
  }
  return fail(path, `expected a boolean (true/false), got ${JSON.stringify(value)}`);
}

function float(path: string, value: unknown): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) fail(path, `expected a number, got ${JSON.stringify(value)}`);
  return n;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Bytes from JSON: a base64 string (the proto3 JSON mapping), an array of byte values, or an
 * object {"text": "..."} / {"base64": "..."} (the form agent-ctl prints). From a word: text,
 * UTF-8 encoded, with C escapes (\n, \t, \0, \xHH) decoded.
 */
function bytes(path: string, value: unknown, source: Source): Uint8Array {
  if (source === "word") {
    if (typeof value !== "string") fail(path, "expected text");
    return decodeEscapes(value);
  }
  if (typeof value === "string") {
    const compact = value.replace(/\s+/g, "");
    if (!BASE64.test(compact) || compact.length % 4 === 1) fail(path, `"${value}" is not base64 (for text use {"text": "..."})`);
    return Uint8Array.from(Buffer.from(compact, "base64"));
  }
  if (Array.isArray(value)) {
    if (!value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) fail(path, "a byte array holds integers 0..255");
    return Uint8Array.from(value as number[]);
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    const o = value as Record<string, unknown>;
    if (keys.length === 1 && typeof o.text === "string") return new TextEncoder().encode(o.text);
    if (keys.length === 1 && typeof o.base64 === "string") return bytes(path, o.base64, "json");
  }
  return fail(path, 'expected bytes: a base64 string, an array of byte values, {"text": "..."} or {"base64": "..."}');
}

export function coerceScalar(path: string, kind: ScalarKind, value: unknown, source: Source, fieldName: string): unknown {
  switch (kind) {
    case "int":
    case "uint":
    case "int64":
    case "uint64":
      return integer(path, kind, value, fieldName);
    case "float":
      return float(path, value);
    case "bool":
      return bool(path, value);
    case "string":
      if (typeof value !== "string") fail(path, `expected a string, got ${JSON.stringify(value)}`);
      return value;
    case "bytes":
      return bytes(path, value, source);
  }
}

/** An enum value by name (case-insensitive) or number; returns the number. */
export function coerceEnum(path: string, e: protobuf.Enum, value: unknown): number {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string") {
    const t = value.trim();
    if (/^-?\d+$/.test(t)) return Number(t);
    for (const [name, num] of Object.entries(e.values)) if (name.toLowerCase() === t.toLowerCase()) return num;
  }
  return fail(path, `invalid value ${JSON.stringify(value)} for enum ${e.name} (${Object.keys(e.values).join(", ")})`);
}
