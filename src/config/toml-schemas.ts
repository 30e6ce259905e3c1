// The valibot schemas of the TOML configuration's keys. They decide every value the fast path in
// toml.ts does not settle (a value of the wrong type, one a rule refuses, a table) and word its
// problem; loaded only then, since valibot and these schemas cost ~0.6 ms of start-up.
import * as v from "valibot";
import type { Parsed } from "./values.ts";
import { checkPipeSize, checkServerAddr, checkVport, parseLogLevel, parseTimeoutText, timeoutFromSeconds } from "./values.ts";

/** Runs one of our value rules inside a valibot pipe, turning its reason into an issue. */
function rule<TIn, TOut>(check: (input: TIn) => Parsed<TOut>) {
  return v.rawTransform<TIn, TOut>(({ dataset, addIssue, NEVER }) => {
    const r = check(dataset.value);
    if (r.ok) return r.value;
    addIssue({ message: r.reason });
    return NEVER;
  });
}

const Bool = v.boolean("is not a boolean (true or false)");
const Integer = v.number("is not a number");

/** Rust's Duration as serde writes it in TOML: `{ secs = 3, nanos = 0 }`. */
const SerdeDuration = v.strictObject(
  {
    secs: v.pipe(Integer, v.integer("is not a whole number"), v.minValue(0, "must not be negative")),
    nanos: v.optional(
      v.pipe(Integer, v.integer("is not a whole number"), v.minValue(0, "must not be negative"), v.maxValue(999_999_999, "must be below 1e9")),
      0,
    ),
  },
  "must be a table { secs = N, nanos = N }",
);

/** hotplug_timeout: integer seconds, a Go duration string, or Kata's serde table. */
export function parseTimeoutValue(value: unknown): Parsed<number> {
  if (typeof value === "number") return timeoutFromSeconds(value);
  if (typeof value === "string") return parseTimeoutText(value);
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const r = v.safeParse(SerdeDuration, value);
    if (!r.success) return { ok: false, reason: `is not a duration: ${r.issues[0].message}` };
    const ms = r.output.secs * 1000 + r.output.nanos / 1e6;
    return ms > 0 ? parseTimeoutText(`${ms}ms`) : { ok: false, reason: "must be greater than zero" };
  }
  return { ok: false, reason: "is not a timeout (whole seconds, a Go duration string like \"10s\", or { secs = N, nanos = N })" };
}

/** [endpoints]: entries are checked one by one by the caller, so one bad entry does not void the list. */
export const Endpoints = v.looseObject(
  { allowed: v.array(v.unknown(), "is not a list of request names") },
  "must be a table with allowed = [ ... ]",
);

export const KEY_SCHEMAS: Readonly<Record<string, v.GenericSchema<unknown, unknown>>> = {
  debug_console: Bool,
  dev_mode: Bool,
  log_level: v.pipe(v.string("is not a string"), rule(parseLogLevel)),
  hotplug_timeout: v.pipe(v.unknown(), rule(parseTimeoutValue)),
  debug_console_vport: v.pipe(Integer, rule(checkVport)),
  log_vport: v.pipe(Integer, rule(checkVport)),
  container_pipe_size: v.pipe(Integer, rule(checkPipeSize)),
  server_addr: v.pipe(v.string("is not a string"), rule(checkServerAddr)),
  unified_cgroup_hierarchy: Bool,
  tracing: Bool,
};

export { safeParse, type BaseIssue } from "valibot";
