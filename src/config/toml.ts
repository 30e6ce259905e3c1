// The TOML configuration file (`--config FILE` or `agent.config_file=FILE`), keys as in Kata's
// AgentConfigBuilder: every key optional, absent keys keep their defaults. Each key's value is
// checked by its own valibot schema so a problem names the key. Unknown keys are warnings
// (Kata ignores them silently).
import * as v from "valibot";
import type { AgentConfig, Problem } from "./types.ts";
import { defaultConfig, makeProblem } from "./types.ts";
import type { Parsed } from "./values.ts";
import {
  checkPipeSize,
  checkServerAddr,
  checkVport,
  parseLogLevel,
  parseTimeoutText,
  timeoutFromSeconds,
} from "./values.ts";
import { buildAllowList } from "./endpoints.ts";
import { KNOWN_REQUEST_NAMES } from "./request-names.ts";

export interface TomlResult {
  config: AgentConfig;
  problems: Problem[];
  warnings: Problem[];
}

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
function parseTimeoutValue(value: unknown): Parsed<number> {
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

// Entries are checked one by one below, so one bad entry does not void the whole list.
const Endpoints = v.looseObject(
  { allowed: v.array(v.unknown(), "is not a list of request names") },
  "must be a table with allowed = [ ... ]",
);

type Apply = (config: AgentConfig, value: never) => void;
interface KeyRule {
  schema: v.GenericSchema<unknown, unknown>;
  apply: Apply;
}

const key = <T>(schema: v.GenericSchema<unknown, T>, apply: (c: AgentConfig, value: T) => void): KeyRule => ({
  schema,
  apply: apply as Apply,
});

const KEYS: Readonly<Record<string, KeyRule>> = {
  debug_console: key(Bool, (c, b) => (c.debugConsole = b)),
  dev_mode: key(Bool, (c, b) => (c.devMode = b)),
  log_level: key(v.pipe(v.string("is not a string"), rule(parseLogLevel)), (c, l) => (c.logLevel = l)),
  hotplug_timeout: key(v.pipe(v.unknown(), rule(parseTimeoutValue)), (c, ms) => (c.hotplugTimeoutMs = ms)),
  debug_console_vport: key(v.pipe(Integer, rule(checkVport)), (c, p) => (c.debugConsoleVport = p)),
  log_vport: key(v.pipe(Integer, rule(checkVport)), (c, p) => (c.logVport = p)),
  container_pipe_size: key(v.pipe(Integer, rule(checkPipeSize)), (c, n) => (c.containerPipeSize = n)),
  server_addr: key(v.pipe(v.string("is not a string"), rule(checkServerAddr)), (c, a) => (c.serverAddr = a)),
  unified_cgroup_hierarchy: key(Bool, (c, b) => (c.unifiedCgroupHierarchy = b)),
  tracing: key(Bool, (c, b) => (c.tracing = b)),
};

/** Keys Kata's AgentConfigBuilder knows that this agent does not implement. */
const KATA_ONLY_KEYS = new Set([
  "cdh_api_timeout",
  "cdi_timeout",
  "passfd_listener_port",
  "https_proxy",
  "no_proxy",
  "guest_components_rest_api",
  "guest_components_procs",
  "image_registry_auth",
  "secure_storage_integrity",
  "enable_signature_verification",
  "image_policy_file",
  "policy_file",
]);

/** "a.b[2]" from a valibot issue path, for messages about nested values. */
function issueKey(base: string, issue: v.BaseIssue<unknown>): string {
  let k = base;
  for (const item of issue.path ?? []) {
    k += typeof item.key === "number" ? `[${item.key}]` : `.${String(item.key)}`;
  }
  return k;
}

/**
 * Bun's TOML errors carry no position, so find the shortest prefix of whole lines that
 * fails with the same message: that is where the parser gave up. Files are small.
 */
function errorLine(text: string, message: string): number | undefined {
  const lines = text.split("\n");
  if (lines.length > 5000) return undefined;
  for (let n = 1; n <= lines.length; n++) {
    try {
      // Keep the newline: Bun words some errors differently at the end of the input.
      Bun.TOML.parse(n === lines.length ? text : lines.slice(0, n).join("\n") + "\n");
    } catch (e) {
      // A shorter prefix can fail for another reason (an open multi-line string): go on.
      if (e instanceof Error && e.message === message) return n;
    }
  }
  return undefined;
}

function parseDocument(text: string, fileName: string): { doc?: Record<string, unknown>; problem?: Problem } {
  try {
    return { doc: Bun.TOML.parse(text) as Record<string, unknown> };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const line = errorLine(text, message);
    const where = line === undefined ? fileName : `${fileName}:${line}`;
    const reason = `invalid TOML: ${message.replace(/^TOML Parse error: /, "")}`;
    return { problem: makeProblem(where, "", reason) };
  }
}

/** Parses a TOML config file's text; `fileName` names it in messages. */
export function parseTomlConfig(
  text: string,
  fileName: string,
  knownRequests: ReadonlySet<string> = KNOWN_REQUEST_NAMES,
): TomlResult {
  const config = defaultConfig();
  config.source = { kind: "file", configFile: fileName, envOverrides: [] };
  const problems: Problem[] = [];
  const warnings: Problem[] = [];

  const { doc, problem } = parseDocument(text, fileName);
  if (!doc) return { config, problems: [problem!], warnings };

  for (const [name, value] of Object.entries(doc)) {
    if (name === "endpoints") {
      if (typeof value === "object" && value !== null && !("allowed" in value)) {
        problems.push(makeProblem(fileName, name, 'has no allowed = [ ... ] list; every request stays allowed'));
        continue;
      }
      const r = v.safeParse(Endpoints, value);
      if (!r.success) {
        for (const issue of r.issues) {
          const k = issueKey(name, issue);
          problems.push(makeProblem(fileName, k, issue.message, issue.input));
        }
        continue;
      }
      for (const extra of Object.keys(r.output)) {
        if (extra !== "allowed") warnings.push(makeProblem(fileName, `endpoints.${extra}`, "is not a known key; ignored"));
      }
      const names: string[] = [];
      r.output.allowed.forEach((entry, i) => {
        if (typeof entry === "string") names.push(entry);
        else problems.push(makeProblem(fileName, `endpoints.allowed[${i}]`, "is not a request name (a string)", entry));
      });
      const list = buildAllowList(names, fileName, knownRequests);
      config.endpoints.allowed = list.allowed;
      problems.push(...list.problems);
      warnings.push(...list.warnings);
      continue;
    }
    const keyRule = KEYS[name];
    if (!keyRule) {
      const reason = KATA_ONLY_KEYS.has(name) || name.startsWith("mem_agent_")
        ? "is a Kata option this agent does not implement; ignored"
        : "is not a known key; ignored";
      warnings.push(makeProblem(fileName, name, reason));
      continue;
    }
    const r = v.safeParse(keyRule.schema, value);
    if (r.success) keyRule.apply(config, r.output as never);
    else problems.push(makeProblem(fileName, issueKey(name, r.issues[0]), r.issues[0].message, r.issues[0].input));
  }
  return { config, problems, warnings };
}
