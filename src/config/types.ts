// The agent's configuration and the problems found while reading it.
// Field names are the camelCase forms of Kata's snake_case options (config.rs at v4.1.0);
// defaults are Kata's. Where Kata panics or silently ignores a bad value, we record a Problem
// naming the source, the option and the value, and keep the default.
import { Level } from "../log/logger.ts";

/** Where the effective configuration came from (logged at start-up, shown by tests). */
export interface ConfigSource {
  /** "defaults": nothing read; "cmdline": kernel command line; "file": a TOML file. */
  kind: "defaults" | "cmdline" | "file";
  /** The command-line file that was read (normally /proc/cmdline), if any. */
  cmdlinePath?: string;
  /** The TOML file the values came from, if any. */
  configFile?: string;
  /** How the TOML file was chosen: `--config` on argv, or `agent.config_file=` on the cmdline. */
  configFileVia?: "argv" | "cmdline";
  /** Names of the environment variables that overrode a value (KATA_AGENT_*). */
  envOverrides: string[];
}

export interface EndpointsConfig {
  /** Request type names (e.g. "CreateContainerRequest") the server may serve; null = all. */
  allowed: Set<string> | null;
}

export interface AgentConfig {
  debugConsole: boolean;
  devMode: boolean;
  logLevel: Level;
  /** Bound for device waits (uevents). Always > 0 and ≤ MAX_TIMER_MS. */
  hotplugTimeoutMs: number;
  /** vsock port for debug console connections; 0 = one shell on /dev/console. */
  debugConsoleVport: number;
  /** vsock port the logs are copied to; 0 = stdout. */
  logVport: number;
  /** F_SETPIPE_SZ for container stdout/stderr pipes; 0 = kernel default. */
  containerPipeSize: number;
  /** `vsock://CID:PORT`, `unix:///path` or `unix://@abstract` (see server-addr.ts). */
  serverAddr: string;
  /** Mount cgroup v2 instead of v1 controllers (also set by `cgroup_no_v1=all`). */
  unifiedCgroupHierarchy: boolean;
  tracing: boolean;
  endpoints: EndpointsConfig;
  source: ConfigSource;
}

export const DEFAULT_SERVER_ADDR = "vsock://-1:1024";
export const DEFAULT_HOTPLUG_TIMEOUT_MS = 3000;
/** setTimeout fires at once for delays above 2^31-1 ms, so no timeout may exceed it. */
export const MAX_TIMER_MS = 2_147_483_647;
/** Kata stores ports and pipe sizes as i32. */
export const MAX_I32 = 2_147_483_647;

export function defaultConfig(): AgentConfig {
  return {
    debugConsole: false,
    devMode: false,
    logLevel: Level.Info,
    hotplugTimeoutMs: DEFAULT_HOTPLUG_TIMEOUT_MS,
    debugConsoleVport: 0,
    logVport: 0,
    containerPipeSize: 0,
    serverAddr: DEFAULT_SERVER_ADDR,
    unifiedCgroupHierarchy: false,
    tracing: false,
    endpoints: { allowed: null },
    source: { kind: "defaults", envOverrides: [] },
  };
}

/**
 * Something wrong (problem) or suspicious (warning) in a configuration source.
 * `message` is the ready-to-print line, e.g.
 * `config.toml: log_level: "loud" is not a log level (trace, debug, …)`.
 */
export interface Problem {
  /** File name, cmdline path, "environment" or "arguments". */
  origin: string;
  /** The option as the user wrote it: `agent.log`, `log_level`, `KATA_AGENT_TRACING`, … */
  key: string;
  /** The offending value, when there is one. */
  value?: unknown;
  reason: string;
  message: string;
}

/** Renders a value for a message: strings quoted, other values as TOML-ish JSON. */
export function showValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return value.toString();
  if (value === undefined) return "nothing";
  // TOML dates arrive as Temporal objects: show them as written, not as JSON strings.
  if (typeof value === "object" && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function makeProblem(origin: string, key: string, reason: string, ...value: [unknown?]): Problem {
  const hasValue = value.length > 0;
  const where = key === "" ? origin : `${origin}: ${key}`;
  const message = hasValue ? `${where}: ${showValue(value[0])} ${reason}` : `${where}: ${reason}`;
  return hasValue ? { origin, key, value: value[0], reason, message } : { origin, key, reason, message };
}
