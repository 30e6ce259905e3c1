// Where the configuration comes from, in Kata's precedence (config.rs, AgentConfig::from_cmdline):
//  1. `--config FILE` (or `-c FILE`) on argv: the TOML file only, then environment overrides.
//  2. else /proc/cmdline; a token `agent.config_file=PATH` switches to that TOML file, and then
//     the environment is NOT consulted (Kata returns the file's config as is).
//  3. else the cmdline options, then environment overrides.
// Environment: KATA_AGENT_SERVER_ADDR, KATA_AGENT_LOG_LEVEL, KATA_AGENT_TRACING.
// Kata fails to start on an unreadable file; we do that only for `--config` outside init mode
// (`fatal`). As PID 1, exiting would panic the kernel, so problems are logged, the bad values
// keep their defaults, and an unusable agent.config_file falls back to the cmdline options.
// The TOML reader is imported statically: a require() of its chunk on the --config path cost
// 0.5-0.7 ms of start-up, its place in the entry chunk costs the command-line path nothing
// measurable (docs/PERFORMANCE.md, session 9).
import { parseTomlConfig } from "./toml.ts";
import { readTextFile } from "../sys/file.ts";
import type { AgentConfig, Problem } from "./types.ts";
import { defaultConfig, makeProblem } from "./types.ts";
import { parseCmdline } from "./cmdline.ts";
import { checkServerAddr, parseBoolText, parseLogLevel } from "./values.ts";
import { KNOWN_REQUEST_NAMES } from "./request-names.ts";

export const DEFAULT_CMDLINE_PATH = "/proc/cmdline";

export interface ParsedArgs {
  /** From `--config FILE`, `--config=FILE`, `-c FILE`. */
  configFile?: string;
  /** `--version`, `-v` or `-V` was given. */
  version: boolean;
  /** Arguments that are not ours, in order (main decides what to do with them). */
  rest: string[];
  /** e.g. `--config` with no file name after it (Kata panics there). */
  problems: Problem[];
}

/** argv without the program name, i.e. `process.argv.slice(2)` (Bun) or `Bun.argv.slice(2)`. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { version: false, rest: [], problems: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--version" || arg === "-v" || arg === "-V") {
      out.version = true;
    } else if (arg === "--config" || arg === "-c") {
      const file = argv[i + 1];
      if (file === undefined || file === "") {
        out.problems.push(makeProblem("arguments", arg, "needs a file name (--config FILE)"));
      } else {
        out.configFile = file;
        i++;
      }
    } else if (arg.startsWith("--config=")) {
      const file = arg.slice("--config=".length);
      if (file === "") out.problems.push(makeProblem("arguments", "--config", "needs a file name (--config=FILE)"));
      else out.configFile = file;
    } else {
      out.rest.push(arg);
    }
  }
  return out;
}

export type Env = Record<string, string | undefined>;

/**
 * Applies KATA_AGENT_* overrides in place. An empty variable counts as unset (Kata would set
 * an empty server address, or turn tracing off); a bad value is a problem and changes nothing.
 */
export function applyEnvOverrides(config: AgentConfig, env: Env): Problem[] {
  const problems: Problem[] = [];
  const origin = "environment";
  const take = <T>(name: string, parse: (s: string) => { ok: true; value: T } | { ok: false; reason: string }, assign: (v: T) => void) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return;
    const r = parse(raw);
    if (!r.ok) {
      problems.push(makeProblem(origin, name, `${r.reason}; ignored`, raw));
      return;
    }
    assign(r.value);
    config.source.envOverrides.push(name);
  };
  take("KATA_AGENT_SERVER_ADDR", checkServerAddr, (a) => (config.serverAddr = a));
  take("KATA_AGENT_LOG_LEVEL", parseLogLevel, (l) => (config.logLevel = l));
  take("KATA_AGENT_TRACING", parseBoolText, (b) => (config.tracing = b));
  return problems;
}

export interface LoadOptions {
  /** Arguments after the program name. */
  argv: readonly string[];
  env: Env;
  /** Defaults to /proc/cmdline. */
  cmdlinePath?: string;
  /** Running as PID 1: never fatal. */
  initMode: boolean;
  /** Request type names valid in `[endpoints] allowed`; defaults to the AgentService + Health set. */
  knownRequests?: ReadonlySet<string>;
}

export interface LoadResult {
  config: AgentConfig;
  problems: Problem[];
  warnings: Problem[];
  /** True when the caller should print the problems and exit 2 (only `--config`, not PID 1). */
  fatal: boolean;
}

type Read = { ok: true; text: string } | { ok: false; problem: Problem };

function readText(path: string, what: string): Read {
  try {
    return { ok: true, text: readTextFile(path) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
    return { ok: false, problem: makeProblem(path, "", `cannot read ${what}: ${code}`) };
  }
}

export function loadConfig(opts: LoadOptions): LoadResult {
  const known = opts.knownRequests ?? KNOWN_REQUEST_NAMES;
  const args = parseArgs(opts.argv);
  const problems: Problem[] = [...args.problems];
  const warnings: Problem[] = [];

  // 1. --config FILE: the file, then the environment.
  if (args.configFile !== undefined || args.problems.length > 0) {
    let config = defaultConfig();
    if (args.configFile !== undefined) {
      const file = readText(args.configFile, "config file");
      if (file.ok) {
        const r = parseTomlConfig(file.text, args.configFile, known);
        config = r.config;
        problems.push(...r.problems);
        warnings.push(...r.warnings);
      } else {
        problems.push(file.problem);
      }
    }
    config.source.kind = "file";
    config.source.configFileVia = "argv";
    if (args.configFile !== undefined) config.source.configFile = args.configFile;
    problems.push(...applyEnvOverrides(config, opts.env));
    return { config, problems, warnings, fatal: problems.length > 0 && !opts.initMode };
  }

  // 2./3. The kernel command line.
  const cmdlinePath = opts.cmdlinePath ?? DEFAULT_CMDLINE_PATH;
  const cmdlineText = readText(cmdlinePath, "kernel command line");
  if (!cmdlineText.ok) {
    const config = defaultConfig();
    problems.push(cmdlineText.problem);
    problems.push(...applyEnvOverrides(config, opts.env));
    return { config, problems, warnings, fatal: false };
  }
  const cmd = parseCmdline(cmdlineText.text, cmdlinePath);
  warnings.push(...cmd.warnings);

  if (cmd.configFile !== undefined) {
    const file = readText(cmd.configFile, "config file (from agent.config_file)");
    const r = file.ok ? parseTomlConfig(file.text, cmd.configFile, known) : undefined;
    const usable = r !== undefined && !r.problems.some((p) => p.reason.startsWith("invalid TOML"));
    if (usable) {
      // The file replaces every cmdline option, and Kata applies no env overrides here.
      r.config.source = { kind: "file", configFile: cmd.configFile, configFileVia: "cmdline", cmdlinePath, envOverrides: [] };
      problems.push(...r.problems);
      warnings.push(...r.warnings);
      return { config: r.config, problems, warnings, fatal: false };
    }
    problems.push(...(file.ok ? r!.problems : [file.problem]));
    problems.push(
      makeProblem(cmdlinePath, "agent.config_file", "is unusable; using the other command-line options instead", cmd.configFile),
    );
  }

  problems.push(...cmd.problems);
  problems.push(...applyEnvOverrides(cmd.config, opts.env));
  return { config: cmd.config, problems, warnings, fatal: false };
}
