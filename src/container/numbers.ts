// 64-bit proto fields arrive as number (--force-number), Long (protobufjs default), bigint or a
// decimal string (JSON). These helpers normalise them. Large uint64 values matter: RLIM_INFINITY
// is 2^64-1, which a JS number rounds up to 2^64, so u64() clamps to the 64-bit maximum.
import type { Int64 } from "./oci-types.ts";

export const U64_MAX = 0xffff_ffff_ffff_ffffn;

function toBigInt(v: Int64 | null | undefined): bigint | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return undefined;
    return BigInt(Math.trunc(v));
  }
  const s = typeof v === "string" ? v.trim() : v.toString();
  return /^-?\d+$/.test(s) ? BigInt(s) : undefined;
}

/** True when v can be read as an integer by u64()/i64(). */
export function isInt64Like(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === "number") return Number.isFinite(v) && Number.isInteger(v);
  if (typeof v === "bigint" || typeof v === "string") return toBigInt(v) !== undefined;
  if (typeof v === "object" && typeof (v as { toString?: unknown }).toString === "function") {
    return toBigInt(v as Int64) !== undefined;
  }
  return false;
}

/** Unsigned 64-bit value; absent = `dflt`; values past 2^64-1 (rounding) clamp to 2^64-1. */
export function u64(v: Int64 | null | undefined, dflt = 0n): bigint {
  const b = toBigInt(v);
  if (b === undefined) return dflt;
  if (b < 0n) return BigInt.asUintN(64, b); // a Long decoded as signed: reinterpret the bits
  return b > U64_MAX ? U64_MAX : b;
}

/** Signed value as a JS number (fits for every field we read this way: ids, oom_score_adj, major/minor). */
export function i64(v: Int64 | null | undefined, dflt = 0): number {
  const b = toBigInt(v);
  return b === undefined ? dflt : Number(b);
}
