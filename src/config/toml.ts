// The TOML configuration file (`--config FILE` or `agent.config_file=FILE`), keys as in Kata's
// AgentConfigBuilder: every key optional, absent keys keep their defaults. A value of the right
// type that its rule accepts is taken here; any other goes through the key's own valibot schema
// (toml-schemas.ts, loaded only then: ~0.6 ms of start-up), so a problem names the key. Unknown
// keys are warnings (Kata ignores them silently).
import type { AgentConfig, Problem } from "./types.ts";
import { defaultConfig, makeProblem } from "./types.ts";
import type { Parsed } from "./values.ts";
import { checkPipeSize, checkServerAddr, checkVport, parseLogLevel, parseTimeoutText, timeoutFromSeconds } from "./values.ts";
import { buildAllowList } from "./endpoints.ts";
import { KNOWN_REQUEST_NAMES } from "./request-names.ts";

export interface TomlResult {
  config: AgentConfig;
  problems: Problem[];
  warnings: Problem[];
}

type Apply = (config: AgentConfig, value: never) => void;
/** Settles the common case without valibot: the value, or undefined to let the key's schema
 *  (toml-schemas.ts) decide and word the problem. It must accept exactly what the schema accepts. */
type Fast = (value: unknown) => Parsed<unknown> | undefined;
interface KeyRule {
  fast: Fast;
  apply: Apply;
}

const key = <T>(fast: (value: unknown) => Parsed<T> | undefined, apply: (c: AgentConfig, value: T) => void): KeyRule => ({
  fast,
  apply: apply as Apply,
});

const okOrSchema = <T>(r: Parsed<T>): Parsed<T> | undefined => (r.ok ? r : undefined);
const bool = (value: unknown): Parsed<boolean> | undefined => (typeof value === "boolean" ? { ok: true, value } : undefined);
/** valibot's number(): any number but NaN; then our rule. */
const int = (check: (n: number) => Parsed<number>) => (value: unknown) =>
  typeof value === "number" && !Number.isNaN(value) ? okOrSchema(check(value)) : undefined;
const str = <T>(check: (s: string) => Parsed<T>) => (value: unknown) => (typeof value === "string" ? okOrSchema(check(value)) : undefined);
/** hotplug_timeout's seconds and duration strings; its serde table form goes to the schema. */
const timeout = (value: unknown): Parsed<number> | undefined =>
  typeof value === "number" ? okOrSchema(timeoutFromSeconds(value)) : typeof value === "string" ? okOrSchema(parseTimeoutText(value)) : undefined;

const KEYS: Readonly<Record<string, KeyRule>> = {
  debug_console: key(bool, (c, b) => (c.debugConsole = b)),
  dev_mode: key(bool, (c, b) => (c.devMode = b)),
  log_level: key(str(parseLogLevel), (c, l) => (c.logLevel = l)),
  hotplug_timeout: key(timeout, (c, ms) => (c.hotplugTimeoutMs = ms)),
  debug_console_vport: key(int(checkVport), (c, p) => (c.debugConsoleVport = p)),
  log_vport: key(int(checkVport), (c, p) => (c.logVport = p)),
  container_pipe_size: key(int(checkPipeSize), (c, n) => (c.containerPipeSize = n)),
  server_addr: key(str(checkServerAddr), (c, a) => (c.serverAddr = a)),
  unified_cgroup_hierarchy: key(bool, (c, b) => (c.unifiedCgroupHierarchy = b)),
  tracing: key(bool, (c, b) => (c.tracing = b)),
};

/** The schemas, loaded on the first value the fast path leaves to them. A synchronous require,
 *  because parsing the configuration is synchronous. */
function schemas(): typeof import("./toml-schemas.ts") {
  return require("./toml-schemas.ts") as typeof import("./toml-schemas.ts");
}

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
function issueKey(base: string, issue: import("./toml-schemas.ts").BaseIssue<unknown>): string {
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

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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
      // A table with an `allowed` list is what the schema accepts; anything else is its to word.
      let table = value as { allowed: unknown[] } & Record<string, unknown>;
      if (!isTable(value) || !Array.isArray(value.allowed)) {
        const s = schemas();
        const r = s.safeParse(s.Endpoints, value);
        if (!r.success) {
          for (const issue of r.issues) {
            const k = issueKey(name, issue);
            problems.push(makeProblem(fileName, k, issue.message, issue.input));
          }
          continue;
        }
        table = r.output;
      }
      for (const extra of Object.keys(table)) {
        if (extra !== "allowed") warnings.push(makeProblem(fileName, `endpoints.${extra}`, "is not a known key; ignored"));
      }
      const names: string[] = [];
      table.allowed.forEach((entry, i) => {
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
    const fast = keyRule.fast(value);
    if (fast?.ok) {
      keyRule.apply(config, fast.value as never);
      continue;
    }
    const s = schemas();
    const r = s.safeParse(s.KEY_SCHEMAS[name]!, value);
    if (r.success) keyRule.apply(config, r.output as never);
    else problems.push(makeProblem(fileName, issueKey(name, r.issues[0]), r.issues[0].message, r.issues[0].input));
  }
  return { config, problems, warnings };
}
