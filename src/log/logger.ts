// JSON-lines logger shaped like Kata's slog output:
//   {"ts":"2026-11-23T19:56:01.123456789Z","level":"INFO","msg":"…","name":"kata-agent",
//    "pid":"1","source":"agent","subsystem":"rpc","version":"0.1.0", …event keys}
// One logger tree; children add fixed keys (subsystem). The sink is swappable so init mode can
// redirect everything to the log vport (with a bounded buffer) after start-up.
import { AGENT_NAME, AGENT_VERSION } from "../version.ts";

export enum Level {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

const LEVEL_TAG = ["TRCE", "DEBG", "INFO", "WARN", "ERRO", "CRIT"] as const;

/** Kata's accepted names for agent.log / log_level; undefined when the name is not a level. */
export function parseLevel(name: string): Level | undefined {
  switch (name.trim().toLowerCase()) {
    case "trace": return Level.Trace;
    case "debug": return Level.Debug;
    case "info": return Level.Info;
    case "warn": case "warning": return Level.Warn;
    case "error": return Level.Error;
    case "critical": case "fatal": case "panic": return Level.Critical;
    default: return undefined;
  }
}

export function levelName(l: Level): string {
  return ["trace", "debug", "info", "warn", "error", "critical"][l]!;
}

export type Sink = (line: string) => void;
export type Fields = Record<string, unknown>;

// Bun's native FileSink on fd 1, not process.stdout: the node:stream machinery behind
// process.stdout costs ~2 MiB of RSS (1.5 MiB of it heap) for the agent's one writer, the sink
// ~0.3 MiB (bench/: idle RSS). Each line is flushed at once; what the fd cannot take yet stays
// queued in the sink, in order. Logging never throws: with stdout gone, lines are dropped.
let stdoutWriter: import("bun").FileSink | undefined;

export const stdoutSink: Sink = (line) => {
  try {
    stdoutWriter ??= Bun.stdout.writer();
    stdoutWriter.write(line);
    const flushed = stdoutWriter.flush();
    if (flushed instanceof Promise) flushed.catch(() => {});
  } catch {
    // stdout closed or broken: nothing else to tell.
  }
};

/** Shared mutable state of one logger tree (level and sink apply to every child). */
class Root {
  level: Level = Level.Info;
  sink: Sink = stdoutSink;
  readonly pid = String(process.pid);
}

/** RFC 3339 with nanoseconds, like slog's ts. performance.timeOrigin keeps sub-ms precision. */
function timestamp(): string {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString(); // …T12:34:56.789Z
  const nanos = Math.floor((ms - whole) * 1e6).toString().padStart(6, "0");
  return `${iso.slice(0, 23)}${nanos}Z`;
}

function jsonSafe(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  if (typeof v === "bigint") return v.toString();
  return v;
}

export class Logger {
  private constructor(private readonly root: Root, private readonly fields: Fields) {}

  static create(): Logger {
    return new Logger(new Root(), {});
  }

  child(fields: Fields): Logger {
    return new Logger(this.root, { ...this.fields, ...fields });
  }

  get level(): Level {
    return this.root.level;
  }
  setLevel(l: Level): void {
    this.root.level = l;
  }
  setSink(s: Sink): void {
    this.root.sink = s;
  }
  enabled(l: Level): boolean {
    return l >= this.root.level;
  }

  log(l: Level, msg: string, extra?: Fields): void {
    if (l < this.root.level) return;
    const rec: Fields = {
      ts: timestamp(),
      level: LEVEL_TAG[l],
      msg,
      name: AGENT_NAME,
      pid: this.root.pid,
      source: "agent",
      version: AGENT_VERSION,
      ...this.fields,
    };
    // An event key never replaces a standard one (a second "pid" would make the line
    // ambiguous JSON): it is kept as "event_<key>".
    if (extra) for (const k in extra) rec[k in rec ? `event_${k}` : k] = jsonSafe(extra[k]);
    this.root.sink(JSON.stringify(rec) + "\n");
  }

  trace(msg: string, extra?: Fields): void { this.log(Level.Trace, msg, extra); }
  debug(msg: string, extra?: Fields): void { this.log(Level.Debug, msg, extra); }
  info(msg: string, extra?: Fields): void { this.log(Level.Info, msg, extra); }
  warn(msg: string, extra?: Fields): void { this.log(Level.Warn, msg, extra); }
  error(msg: string, extra?: Fields): void { this.log(Level.Error, msg, extra); }
  critical(msg: string, extra?: Fields): void { this.log(Level.Critical, msg, extra); }
}

/** The agent's logger. Modules take a child: `log.child({ subsystem: "rpc" })`. */
export const log = Logger.create();
