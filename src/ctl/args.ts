// The kata-agent-ctl command line (mirrors Kata's agent-ctl):
//   kata-agent-ctl [-l LEVEL] connect --server-address ADDR [--hybrid-vsock [--hybrid-vsock-port N]]
//                  [--timeout T] [--ignore-errors] [-n] [--bundle-dir DIR] [-c "Cmd args"]... [-i]
//   kata-agent-ctl list | help [COMMAND] | examples | generate-cid | generate-sid | --help | --version
// Options take their value as the next word or after '=' (--timeout=5s).
import { Level, parseLevel } from "../log/logger.ts";
import { CtlSyntaxError } from "./errors.ts";

/** Kata's default agent vsock port, also the default hybrid vsock port. */
export const DEFAULT_AGENT_VSOCK_PORT = 1024;

export interface ConnectOptions {
  serverAddress: string;
  hybridVsock: boolean;
  hybridVsockPort: number;
  /** Per-call deadline sent as Request.timeout_nano; 0 = none. */
  timeoutNs: number;
  ignoreErrors: boolean;
  /** Kata's -n: do not fill container_id from the previous command. */
  noAutoValues: boolean;
  /** Default bundle for `CreateContainer` when neither bundle= nor rootfs= is given. */
  bundleDir?: string;
  commands: string[];
  interactive: boolean;
}

export type Invocation =
  | { kind: "connect"; logLevel: Level; options: ConnectOptions }
  | { kind: "help"; topic?: string }
  | { kind: "list" }
  | { kind: "examples" }
  | { kind: "version" }
  | { kind: "generate-cid" }
  | { kind: "generate-sid" };

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3,
  "μs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * A Go-style duration ("1h2m", "1.5s", "500ms", "99ns", "30us") in nanoseconds. A bare number
 * (no unit) counts in `bareUnitNs` (Kata's --timeout: nanoseconds; `sleep`: milliseconds).
 */
export function parseDuration(text: string, bareUnitNs: number): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * bareUnitNs);
  const part = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < t.length) {
    part.lastIndex = pos;
    const m = part.exec(t);
    if (!m) throw new CtlSyntaxError(`invalid duration "${text}" (examples: 5s, 500ms, 1m30s, 250us)`);
    total += Number(m[1]) * UNIT_NS[m[2]!]!;
    pos = part.lastIndex;
  }
  if (t.length === 0) throw new CtlSyntaxError("empty duration");
  return Math.round(total);
}

/** Reads options of the form --name VALUE / --name=VALUE / -x VALUE. */
class ArgReader {
  private i = 0;
  constructor(private readonly args: string[]) {}

  get done(): boolean {
    return this.i >= this.args.length;
  }
  next(): string {
    return this.args[this.i++]!;
  }
  peek(): string | undefined {
    return this.args[this.i];
  }
  /** The value of an option word (after '=' or the next word). */
  value(option: string, inline: string | undefined): string {
    if (inline !== undefined) return inline;
    if (this.done) throw new CtlSyntaxError(`option ${option} needs a value`);
    return this.next();
  }
}

function splitOption(word: string): [string, string | undefined] {
  const eq = word.indexOf("=");
  return word.startsWith("--") && eq > 0 ? [word.slice(0, eq), word.slice(eq + 1)] : [word, undefined];
}

function level(name: string): Level {
  const l = parseLevel(name);
  if (l === undefined) throw new CtlSyntaxError(`unknown log level "${name}" (trace, debug, info, warn, error, critical)`);
  return l;
}

function port(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw new CtlSyntaxError(`invalid hybrid vsock port "${text}"`);
  return Number(text);
}

export function parseArgs(argv: string[]): Invocation {
  const r = new ArgReader(argv);
  let logLevel = Level.Info;
  while (!r.done) {
    const [opt, inline] = splitOption(r.next());
    switch (opt) {
      case "-l":
      case "--log-level":
        logLevel = level(r.value(opt, inline));
        continue;
      case "-h":
      case "--help":
      case "help":
        return { kind: "help", topic: r.done ? undefined : r.next() };
      case "-V":
      case "--version":
      case "version":
        return { kind: "version" };
      case "list":
        return { kind: "list" };
      case "examples":
        return { kind: "examples" };
      case "generate-cid":
        return { kind: "generate-cid" };
      case "generate-sid":
        return { kind: "generate-sid" };
      case "connect":
        return parseConnect(r, logLevel);
      default:
        throw new CtlSyntaxError(
          opt.startsWith("-") ? `unknown option ${opt}` : `unknown sub-command "${opt}" (connect, list, help, examples, generate-cid, generate-sid)`,
        );
    }
  }
  throw new CtlSyntaxError("missing sub-command (try: kata-agent-ctl --help)");
}

function parseConnect(r: ArgReader, initialLevel: Level): Invocation {
  let logLevel = initialLevel;
  const o: ConnectOptions = {
    serverAddress: "",
    hybridVsock: false,
    hybridVsockPort: DEFAULT_AGENT_VSOCK_PORT,
    timeoutNs: 0,
    ignoreErrors: false,
    noAutoValues: false,
    commands: [],
    interactive: false,
  };
  while (!r.done) {
    const [opt, inline] = splitOption(r.next());
    switch (opt) {
      case "--server-address":
        o.serverAddress = r.value(opt, inline);
        break;
      case "--hybrid-vsock":
        o.hybridVsock = true;
        break;
      case "--hybrid-vsock-port":
        o.hybridVsockPort = port(r.value(opt, inline));
        break;
      case "--timeout":
        o.timeoutNs = parseDuration(r.value(opt, inline), 1);
        break;
      case "--ignore-errors":
        o.ignoreErrors = true;
        break;
      case "-n":
      case "--no-auto-values":
        o.noAutoValues = true;
        break;
      case "--bundle-dir":
        o.bundleDir = r.value(opt, inline);
        break;
      case "-c":
      case "--cmd":
        o.commands.push(r.value(opt, inline));
        break;
      case "-i":
      case "--interactive":
        o.interactive = true;
        break;
      case "-l":
      case "--log-level":
        logLevel = level(r.value(opt, inline));
        break;
      default:
        throw new CtlSyntaxError(`connect: unknown option ${opt}`);
    }
  }
  if (!o.serverAddress) throw new CtlSyntaxError("connect: --server-address is required");
  if (!o.interactive && o.commands.length === 0) throw new CtlSyntaxError("connect: give commands with -c/--cmd, or -i for interactive mode");
  return { kind: "connect", logLevel, options: o };
}
