// Kernel command line options (/proc/cmdline), Kata's rules:
// tokens are split on ASCII whitespace (no quoting, like Kata), options are `name` or
// `name=value`, the last occurrence wins, and tokens that are not ours are ignored.
// Unlike Kata, a bad value never aborts start-up or turns silently into false/0:
// it becomes a Problem and the option keeps its default.
import type { AgentConfig, Problem } from "./types.ts";
import { defaultConfig, makeProblem } from "./types.ts";
import type { Parsed } from "./values.ts";
import {
  checkServerAddr,
  parseBoolText,
  parseLogLevel,
  parsePipeSizeText,
  parseTimeoutText,
  parseVportText,
} from "./values.ts";

export interface CmdlineResult {
  config: AgentConfig;
  problems: Problem[];
  warnings: Problem[];
  /** Path from `agent.config_file=PATH`: the caller reads that TOML file instead. */
  configFile?: string;
}

/** Mutable state while reading tokens; `cgroup_no_v1=all` is folded in at the end. */
interface Draft {
  config: AgentConfig;
  cgroupNoV1All: boolean;
  configFile?: string;
}

interface OptionRule {
  /** A bare `name` (no `=`) is accepted and means true. */
  flag?: boolean;
  /** What the value looks like, for "needs a value" messages. */
  form: string;
  apply(draft: Draft, value: string): Parsed<unknown>;
}

function set<T>(parsed: Parsed<T>, assign: (v: T) => void): Parsed<T> {
  if (parsed.ok) assign(parsed.value);
  return parsed;
}

/** The old Go agent took `agent.trace=isolated|collated`; both mean "tracing on". */
function parseTraceText(text: string): Parsed<boolean> {
  if (text === "isolated" || text === "collated") return { ok: true, value: true };
  return parseBoolText(text);
}

const RULES: Readonly<Record<string, OptionRule>> = {
  "agent.debug_console": {
    flag: true,
    form: "bool",
    apply: (d, v) => set(parseBoolText(v), (b) => (d.config.debugConsole = b)),
  },
  "agent.devmode": {
    flag: true,
    form: "bool",
    apply: (d, v) => set(parseBoolText(v), (b) => (d.config.devMode = b)),
  },
  "agent.trace": {
    flag: true,
    form: "bool",
    apply: (d, v) => set(parseTraceText(v), (b) => (d.config.tracing = b)),
  },
  "agent.log": {
    form: "level",
    apply: (d, v) => set(parseLogLevel(v), (l) => (d.config.logLevel = l)),
  },
  "agent.server_addr": {
    form: "address",
    apply: (d, v) => set(checkServerAddr(v), (a) => (d.config.serverAddr = a)),
  },
  "agent.hotplug_timeout": {
    form: "seconds or duration",
    apply: (d, v) => set(parseTimeoutText(v), (ms) => (d.config.hotplugTimeoutMs = ms)),
  },
  "agent.debug_console_vport": {
    form: "port",
    apply: (d, v) => set(parseVportText(v), (p) => (d.config.debugConsoleVport = p)),
  },
  "agent.log_vport": {
    form: "port",
    apply: (d, v) => set(parseVportText(v), (p) => (d.config.logVport = p)),
  },
  "agent.container_pipe_size": {
    form: "bytes",
    apply: (d, v) => set(parsePipeSizeText(v), (n) => (d.config.containerPipeSize = n)),
  },
  // The Go agent read agent.unified_cgroup_hierarchy, the Rust agent reads the systemd one.
  "agent.unified_cgroup_hierarchy": {
    form: "bool",
    apply: (d, v) => set(parseBoolText(v), (b) => (d.config.unifiedCgroupHierarchy = b)),
  },
  "systemd.unified_cgroup_hierarchy": {
    form: "bool",
    apply: (d, v) => set(parseBoolText(v), (b) => (d.config.unifiedCgroupHierarchy = b)),
  },
  // Only "all" concerns us; other values (cgroup_no_v1=memory) are the kernel's business.
  cgroup_no_v1: {
    form: "controllers",
    apply: (d, v) => {
      if (v === "all") d.cgroupNoV1All = true;
      return { ok: true, value: v };
    },
  },
  "agent.config_file": {
    form: "path",
    apply: (d, v) => {
      if (v === "") return { ok: false, reason: "is not a file path" };
      d.configFile ??= v; // Kata switches to the first one it meets
      return { ok: true, value: v };
    },
  },
};

/** Kata options we accept silently-but-visibly: known to Kata, not implemented here. */
const KATA_ONLY_OPTIONS = new Set([
  "agent.passfd_listener_port",
  "agent.cdh_api_timeout",
  "agent.cdi_timeout",
  "agent.guest_components_rest_api",
  "agent.guest_components_procs",
  "agent.image_registry_auth",
  "agent.secure_storage_integrity",
  "agent.enable_signature_verification",
  "agent.image_policy_file",
  "agent.https_proxy",
  "agent.no_proxy",
  "agent.use_vsock",
]);

function isKataOnly(name: string): boolean {
  return KATA_ONLY_OPTIONS.has(name) || name.startsWith("agent.mem_agent_");
}

/** Parses the text of /proc/cmdline; `origin` names it in messages. */
export function parseCmdline(text: string, origin = "/proc/cmdline"): CmdlineResult {
  const draft: Draft = { config: defaultConfig(), cgroupNoV1All: false };
  const problems: Problem[] = [];
  const warnings: Problem[] = [];

  for (const token of text.split(/[ \t\n\r\f\v]+/)) {
    if (token === "") continue;
    const eq = token.indexOf("=");
    const name = eq < 0 ? token : token.slice(0, eq);
    const value = eq < 0 ? undefined : token.slice(eq + 1);
    const rule = RULES[name];
    if (!rule) {
      if (name.startsWith("agent.")) {
        const reason = isKataOnly(name)
          ? "is a Kata option this agent does not implement; ignored"
          : "is not a known agent option; ignored";
        warnings.push(makeProblem(origin, name, reason));
      }
      continue;
    }
    if (value === undefined) {
      if (rule.flag) rule.apply(draft, "true");
      else problems.push(makeProblem(origin, name, `needs a value (${name}=<${rule.form}>); ignored`));
      continue;
    }
    if (name === "agent.config_file" && draft.configFile !== undefined && value !== draft.configFile) {
      warnings.push(makeProblem(origin, name, `ignored: the first agent.config_file (${draft.configFile}) wins`, value));
      continue;
    }
    const result = rule.apply(draft, value);
    if (!result.ok) problems.push(makeProblem(origin, name, `${result.reason}; ignored`, value));
  }

  const config = draft.config;
  if (draft.cgroupNoV1All) config.unifiedCgroupHierarchy = true;
  config.source = { kind: "cmdline", cmdlinePath: origin, envOverrides: [] };
  const out: CmdlineResult = { config, problems, warnings };
  if (draft.configFile !== undefined) out.configFile = draft.configFile;
  return out;
}
