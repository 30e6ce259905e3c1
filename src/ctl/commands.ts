// Runs agent-ctl command lines (table.ts lists the commands) against one agent connection,
// made on the first RPC and remade if it drops. Tracks the exit code: 1 after a failed call
// (unless --ignore-errors), 2 after bad syntax.
import { Level, type Logger } from "../log/logger.ts";
import { TtrpcClient } from "../ttrpc/client.ts";
import { parseDuration, type ConnectOptions } from "./args.ts";
import { CONVENIENCE } from "./container-args.ts";
import { CtlSyntaxError, EXIT_FAILED, EXIT_OK, EXIT_SYNTAX } from "./errors.ts";
import { commandHelp, commandList } from "./help.ts";
import type { PlainMessage } from "./json-check.ts";
import { displayValue, errorLine, renderMessage, responseLine } from "./output.ts";
import { buildRequest, defaultBuildContext, type BuildContext } from "./request.ts";
import { messageType } from "./schema.ts";
import { findBuiltin, findRpc, type Builtin, type RpcCommand } from "./table.ts";
import { splitWords } from "./words.ts";

/** Where output goes (process streams in the binary, buffers in tests). */
export interface CtlIo {
  stdout(data: string | Uint8Array): void;
  stderr(data: string | Uint8Array): void;
}

export type Outcome = "ok" | "failed" | "syntax" | "quit";

/** Bytes asked for by ReadStdout/ReadStderr/ReadAll when len= is not given. */
export const DEFAULT_READ_LEN = 65536;

export class Session {
  /** 0, or 1 after a failed call (unless --ignore-errors), 2 after bad syntax. */
  exitCode = EXIT_OK;
  private client: TtrpcClient | undefined;
  private pendingRepeat: number | undefined;
  /** Kata's auto value: the container id of the last command that named one. */
  private lastContainerId: string | undefined;

  constructor(
    private readonly opts: ConnectOptions,
    private readonly io: CtlIo,
    private readonly log: Logger,
    private readonly files: BuildContext = defaultBuildContext,
  ) {}

  /** Runs one command line (with a pending `repeat`, several times). */
  async runLine(line: string): Promise<Outcome> {
    let words: string[];
    try {
      words = splitWords(line);
    } catch (e) {
      return this.report(undefined, e);
    }
    if (words.length === 0 || words[0]!.startsWith("#")) return "ok";
    const times = this.pendingRepeat;
    this.pendingRepeat = undefined;
    return times === undefined ? this.runWords(words) : this.runRepeated(words, times);
  }

  /** Runs a command `times` times (-1: until it fails), stopping early like a command list does. */
  private async runRepeated(words: string[], times: number): Promise<Outcome> {
    let outcome: Outcome = "ok";
    for (let i = 0; times < 0 || i < times; i++) {
      outcome = await this.runWords(words);
      if (outcome === "quit" || outcome === "syntax") break;
      if (outcome === "failed" && (times < 0 || !this.opts.ignoreErrors)) break;
    }
    return outcome;
  }

  private async runWords(words: string[]): Promise<Outcome> {
    const [name, ...args] = words as [string, ...string[]];
    const builtin = findBuiltin(name);
    if (builtin) return this.runBuiltin(builtin, args);
    const rpc = findRpc(name);
    if (!rpc) return this.report(undefined, new CtlSyntaxError(`unknown command "${name}" (try: list)`));
    return this.runRpc(rpc, args);
  }

  private async runBuiltin(b: Builtin, args: string[]): Promise<Outcome> {
    try {
      switch (b.name) {
        case "echo":
          this.io.stdout(`${args.join(" ")}\n`);
          return "ok";
        case "help":
        case "list":
          this.io.stdout(args.length ? commandHelp(args[0]!) : commandList());
          return "ok";
        case "quit":
          return "quit";
        case "sleep":
          if (args.length !== 1) throw new CtlSyntaxError("usage: sleep TIME (500ms, 2s, or milliseconds)");
          await Bun.sleep(parseDuration(args[0]!, 1e6) / 1e6);
          return "ok";
        case "repeat":
          return this.repeat(args);
        case "ReadAll":
          return await this.readAll(args);
      }
    } catch (e) {
      return this.report(b.name, e);
    }
    return this.report(b.name, new Error(`built-in ${b.name} is not wired`));
  }

  private async repeat(args: string[]): Promise<Outcome> {
    const n = args[0];
    if (n === undefined || !/^-?\d+$/.test(n) || Number(n) < -1) throw new CtlSyntaxError("usage: repeat N [COMMAND…] (N ≥ 0, or -1 until it fails)");
    if (args.length === 1) {
      this.pendingRepeat = Number(n);
      return "ok";
    }
    return this.runRepeated(args.slice(1), Number(n));
  }

  /** Builds the request of `rpc` from argument words, with Kata's auto values unless -n. */
  buildRequest(rpc: RpcCommand, args: string[]): PlainMessage {
    const type = messageType(rpc.method.requestType);
    let request = buildRequest(type, args, this.files, CONVENIENCE[rpc.method.name]);
    if (rpc.method.name === "CreateContainer" && !request.OCI && this.opts.bundleDir) {
      // Kata's --bundle-dir: the spec comes from that bundle when the command gives none.
      request = buildRequest(type, [`bundle=${this.opts.bundleDir}`, ...args], this.files, CONVENIENCE.CreateContainer);
    }
    if (!this.opts.noAutoValues) {
      if (type.fields.container_id && !request.container_id && this.lastContainerId) request.container_id = this.lastContainerId;
      // The Go runtime creates a container's first process with exec_id = container_id.
      if (rpc.method.name === "CreateContainer" && !request.exec_id && request.container_id) request.exec_id = request.container_id;
      if (type.fields.len && !request.len && rpc.method.name.startsWith("Read")) request.len = DEFAULT_READ_LEN;
    }
    return request;
  }

  private async runRpc(rpc: RpcCommand, args: string[]): Promise<Outcome> {
    const name = rpc.method.name;
    let request: PlainMessage;
    let payload: Uint8Array;
    try {
      request = this.buildRequest(rpc, args);
      payload = encodeRequest(rpc, request);
    } catch (e) {
      return this.report(name, e instanceof CtlSyntaxError ? e : new CtlSyntaxError((e as Error).message));
    }
    if (this.log.enabled(Level.Debug)) this.log.debug("request", { method: name, request: displayValue(request) });
    try {
      const response = await this.call(rpc, payload);
      if (typeof request.container_id === "string" && request.container_id) this.lastContainerId = request.container_id;
      this.io.stdout(responseLine(name, renderMessage(messageType(rpc.method.responseType), response)));
      return "ok";
    } catch (e) {
      return this.report(name, e);
    }
  }

  private async call(rpc: RpcCommand, payload: Uint8Array): Promise<unknown> {
    const client = await this.connection();
    const started = performance.now();
    this.log.debug("sending request", { service: rpc.service.name, method: rpc.method.name, bytes: payload.length });
    const answer = await client.call(rpc.service.name, rpc.method.name, payload, { timeoutNs: this.opts.timeoutNs });
    this.log.debug("response received", { method: rpc.method.name, bytes: answer.length, ms: +(performance.now() - started).toFixed(3) });
    return rpc.method.response.decode(answer);
  }

  private async connection(): Promise<TtrpcClient> {
    if (this.client && !this.client.closed) return this.client;
    const o = this.opts;
    this.log.debug("connecting", { address: o.serverAddress, hybrid_vsock: o.hybridVsock });
    this.client = await TtrpcClient.connect(o.serverAddress, { hybridVsockPort: o.hybridVsock ? o.hybridVsockPort : undefined });
    return this.client;
  }

  /** ReadStdout + ReadStderr until both return empty data (EOF), writing what they return. */
  private async readAll(args: string[]): Promise<Outcome> {
    const stdoutRpc = findRpc("ReadStdout")!;
    const stderrRpc = findRpc("ReadStderr")!;
    let request: PlainMessage;
    try {
      request = this.buildRequest(stdoutRpc, args);
    } catch (e) {
      return this.report("ReadAll", e);
    }
    const payload = encodeRequest(stdoutRpc, request);
    let lastStdoutByte = 0x0a;
    const drain = async (rpc: RpcCommand, write: (d: Uint8Array) => void): Promise<number> => {
      let total = 0;
      for (;;) {
        const r = (await this.call(rpc, payload)) as { data?: Uint8Array };
        if (!r.data || r.data.length === 0) return total;
        total += r.data.length;
        write(r.data);
      }
    };
    try {
      const [out, err] = await Promise.all([
        drain(stdoutRpc, (d) => {
          lastStdoutByte = d[d.length - 1]!;
          this.io.stdout(d);
        }),
        drain(stderrRpc, (d) => this.io.stderr(d)),
      ]);
      if (typeof request.container_id === "string" && request.container_id) this.lastContainerId = request.container_id;
      // Keep the summary on a line of its own even when the output did not end with a newline.
      const sep = lastStdoutByte === 0x0a ? "" : "\n";
      this.io.stdout(sep + responseLine("ReadAll", JSON.stringify({ stdout_bytes: out, stderr_bytes: err })));
      return "ok";
    } catch (e) {
      return this.report("ReadAll", e);
    }
  }

  /** Prints the error and records the exit code; syntax errors are 2, failed calls 1. */
  private report(command: string | undefined, e: unknown): Outcome {
    this.io.stderr(errorLine(command, e));
    if (e instanceof CtlSyntaxError) {
      this.exitCode = EXIT_SYNTAX;
      return "syntax";
    }
    this.log.debug("command failed", { command, error: e });
    if (!this.opts.ignoreErrors && this.exitCode === EXIT_OK) this.exitCode = EXIT_FAILED;
    return "failed";
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }
}

/** JSON-like request → wire bytes, converted by reflection (the generated classes only encode). */
function encodeRequest(rpc: RpcCommand, request: PlainMessage): Uint8Array {
  const type = messageType(rpc.method.requestType);
  return type.encode(type.fromObject(request)).finish();
}
