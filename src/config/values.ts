// Value rules shared by the kernel command line, the TOML file and the environment.
// Each parser returns either the value or a reason that completes a sentence after the value:
//   `"loud"` + ` is not a log level (trace, debug, …)`.
import { Level, parseLevel } from "../log/logger.ts";
import { MAX_I32, MAX_TIMER_MS } from "./types.ts";
import { parseServerAddr } from "./server-addr.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

export const LEVEL_NAMES = "trace, debug, info, warn|warning, error, critical|fatal|panic";

export function parseLogLevel(text: string): Parsed<Level> {
  const level = parseLevel(text);
  return level === undefined ? bad(`is not a log level (${LEVEL_NAMES})`) : ok(level);
}

/**
 * Kata's cmdline bool: "true"/"false", or an unsigned integer where non-zero is true.
 * Kata turns anything else into false silently; we report it instead.
 */
export function parseBoolText(text: string): Parsed<boolean> {
  const t = text.trim().toLowerCase();
  if (t === "true") return ok(true);
  if (t === "false") return ok(false);
  if (/^[0-9]+$/.test(t)) return ok(/[1-9]/.test(t));
  return bad("is not a boolean (true, false, or a number where non-zero means true)");
}

const DURATION_UNITS_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3, // µ (micro sign), accepted by Go
  "\u03bcs": 1e3, // μ (Greek mu), accepted by Go
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const GO_DURATION_HINT = "a Go duration such as 10s, 1m30s, 500ms";

/**
 * Go's time.ParseDuration grammar: an optional sign, then one or more `<decimal><unit>`
 * parts (units ns, us/µs, ms, s, m, h); "0" alone is allowed. Returns milliseconds.
 */
export function parseGoDuration(text: string): Parsed<number> {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return ok(0);
  if (rest === "") return bad(`is not ${GO_DURATION_HINT}`);
  let totalNs = 0;
  const part = /^([0-9]*)(?:\.([0-9]*))?([a-zµμ]+)/;
  while (rest !== "") {
    const m = part.exec(rest);
    if (!m) return bad(`is not ${GO_DURATION_HINT}`);
    const [whole, intDigits = "", fracDigits = "", unit = ""] = m;
    if (intDigits === "" && fracDigits === "") return bad(`is not ${GO_DURATION_HINT}`);
    const scale = DURATION_UNITS_NS[unit];
    if (scale === undefined) return bad(`has an unknown duration unit "${unit}" (ns, us, ms, s, m, h)`);
    totalNs += Number(`${intDigits || "0"}.${fracDigits || "0"}`) * scale;
    rest = rest.slice(whole.length);
  }
  return ok((sign * totalNs) / 1e6);
}

/** A positive timeout that setTimeout can honour. */
function checkTimeoutMs(ms: number): Parsed<number> {
  if (!(ms > 0)) return bad("must be greater than zero");
  if (ms > MAX_TIMER_MS) return bad(`is too long (at most ${MAX_TIMER_MS} ms, about 24.8 days)`);
  return ok(ms);
}

/**
 * Timeout text: whole seconds ("3", Kata's form) or a Go duration ("10s", the legacy
 * Go agent's form). Result in milliseconds.
 */
export function parseTimeoutText(text: string): Parsed<number> {
  if (/^\+?[0-9]+$/.test(text)) return checkTimeoutMs(Number(text) * 1000);
  const d = parseGoDuration(text);
  if (!d.ok) return bad(`is not a whole number of seconds or ${GO_DURATION_HINT}`);
  return checkTimeoutMs(d.value);
}

/** Seconds given as a number (TOML integer). */
export function timeoutFromSeconds(seconds: number): Parsed<number> {
  if (!Number.isInteger(seconds)) return bad("is not a whole number of seconds");
  return checkTimeoutMs(seconds * 1000);
}

/** Decimal integer text only: no hex, no exponent, no fraction (like Rust's i32 parse). */
function parseIntText(text: string): number | undefined {
  return /^[+-]?[0-9]+$/.test(text) ? Number(text) : undefined;
}

/** vsock port option: 0 means "off" (the default), otherwise 1..2^31-1 as in Kata (i32). */
export function checkVport(n: number): Parsed<number> {
  if (!Number.isInteger(n)) return bad("is not a whole number");
  if (n < 0) return bad("must not be negative (0 = off, or a vsock port)");
  if (n > MAX_I32) return bad(`is too large (at most ${MAX_I32})`);
  return ok(n);
}

export function parseVportText(text: string): Parsed<number> {
  const n = parseIntText(text);
  return n === undefined ? bad("is not a port number") : checkVport(n);
}

/** Pipe size in bytes: 0 = kernel default; never negative (Kata's rule). */
export function checkPipeSize(n: number): Parsed<number> {
  if (!Number.isInteger(n)) return bad("is not a whole number of bytes");
  if (n < 0) return bad("must not be negative (0 = kernel default)");
  if (n > MAX_I32) return bad(`is too large (at most ${MAX_I32})`);
  return ok(n);
}

export function parsePipeSizeText(text: string): Parsed<number> {
  const n = parseIntText(text);
  return n === undefined ? bad("is not a number of bytes") : checkPipeSize(n);
}

export function checkServerAddr(text: string): Parsed<string> {
  const r = parseServerAddr(text);
  return r.ok ? ok(text) : bad(r.reason);
}
