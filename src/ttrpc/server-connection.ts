// The server side of one ttRPC connection: turns frames into handler calls and answers every
// client stream exactly once. Protocol mistakes by the client are answered on the stream they
// concern and never close the connection.
import type { Socket } from "bun";
import type { Logger } from "../log/logger.ts";
import { Call, type Handler, type Payload } from "./call.ts";
import { decodeRequest, encodeResponse, type Request, type Status, encodeResponsePrefix } from "./envelope.ts";
import { Flags, FrameParser, FrameType, HEADER_LENGTH, writeHeader, type FrameSink } from "./frame.ts";
import { Code, RpcError, toRpcError } from "./status.ts";
import { StreamIdWindow } from "./stream-ids.ts";
import { FrameWriter } from "./writer.ts";

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly log: Logger;
  readonly maxMessage: number;
  lookup(service: string): Map<string, Handler> | undefined;
  readonly onCall?: (ctx: Call) => RpcError | undefined;
  readonly onDone?: (ctx: Call, code: number, durationMs: number) => void;
  readonly limits?: ConnectionLimits;
  connectionClosed(conn: ServerConnection): void;
}

const EMPTY = new Uint8Array(0);
const DEADLINE_MESSAGE = "context deadline exceeded";
const MAX_TIMER_MS = 0x7fffffff;

/** Limits that keep one connection from growing the agent without bound (a client that pipelines
 *  calls and never reads its socket). Past either, the connection stops being read; frames already
 *  received wait in a backlog; other connections are not affected. */
export interface ConnectionLimits {
  /** Unsent answer bytes above which reading stops (resumes below half of it). */
  maxUnsentBytes: number;
  /** Calls running at once on one connection. */
  maxCallsInFlight: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = { maxUnsentBytes: 4 << 20, maxCallsInFlight: 1024 };

/** A frame received while the connection was paused; `oversize` marks a skipped frame's length. */
interface Deferred {
  streamId: number;
  type: number;
  flags: number;
  body: Uint8Array;
  oversize?: number;
}

export class ServerConnection implements FrameSink {
  readonly parser: FrameParser;
  readonly writer: FrameWriter;
  private readonly calls = new Map<number, Call>();
  private readonly streamIds = new StreamIdWindow();
  private closed = false;
  private ending = false;
  private readonly limits: ConnectionLimits;
  private paused = false;
  private backlog: Deferred[] = [];
  private replaying = false;

  constructor(
    private readonly host: ConnectionHost,
    readonly socket: Socket<ServerConnection>,
  ) {
    this.parser = new FrameParser(this, host.maxMessage);
    this.writer = new FrameWriter(socket as Socket<unknown>);
    this.limits = host.limits ?? DEFAULT_LIMITS;
  }

  get inFlight(): number {
    return this.calls.size;
  }

  /** Answer bytes not yet taken by the kernel. */
  get unsentBytes(): number {
    return this.writer.pending;
  }

  /** True while the connection is not being read (too many unsent bytes or calls in flight). */
  get isPaused(): boolean {
    return this.paused;
  }

  // ---- frames in -------------------------------------------------------------------------------

  onFrame(streamId: number, type: number, flags: number, body: Uint8Array): void {
    // Frames that arrive while paused (already read from the socket) keep their order in a
    // backlog; the body may be a view into the socket's chunk, so it is copied.
    if (this.paused || this.backlog.length > 0 && !this.replaying) {
      this.backlog.push({ streamId, type, flags, body: body.slice() });
      return;
    }
    this.dispatch(streamId, type, flags, body);
    this.checkPressure();
  }

  private dispatch(streamId: number, type: number, flags: number, body: Uint8Array): void {
    if (type === FrameType.Request) this.onRequest(streamId, flags, body);
    else if (type === FrameType.Data) this.onData(streamId);
    // Response frames from a client and unknown types are ignored, as containerd's server does
    // (room for future message types).
    else this.host.log.debug("ignoring ttrpc frame", { stream: streamId, type });
  }

  onOversize(streamId: number, type: number, flags: number, length: number): void {
    if (this.paused || this.backlog.length > 0 && !this.replaying) {
      this.backlog.push({ streamId, type, flags, body: EMPTY, oversize: length });
      return;
    }
    this.sendStatus(streamId, Code.RESOURCE_EXHAUSTED,
      `message length ${length} exceed maximum message size of ${this.host.maxMessage}`);
  }

  private onRequest(streamId: number, flags: number, body: Uint8Array): void {
    if (streamId % 2 !== 1) {
      this.sendStatus(streamId, Code.INVALID_ARGUMENT, "StreamID must be odd for client initiated streams");
      return;
    }
    if (!this.streamIds.accept(streamId)) {
      this.sendStatus(streamId, Code.INVALID_ARGUMENT,
        `StreamID ${streamId} was already used (client stream ids must increase; highest is ${this.streamIds.last})`);
      return;
    }
    let req: Request;
    try {
      req = decodeRequest(body);
    } catch (e) {
      this.sendStatus(streamId, Code.INVALID_ARGUMENT, `unmarshal request error: ${(e as Error).message}`);
      return;
    }
    const deadline = req.timeoutNano > 0 ? Date.now() + req.timeoutNano / 1e6 : undefined;
    const call = new Call(streamId, req.service, req.method, metadataOf(req), deadline);
    // Every method we serve is unary. "Remote open" announces data frames we would never read;
    // "remote closed" alone is a valid way to ask for a single response, so it is served.
    if (flags & Flags.RemoteOpen) {
      this.answer(call, undefined, new RpcError(Code.UNIMPLEMENTED,
        `${req.service}/${req.method}: streaming requests are not supported (unary only)`));
      return;
    }
    const methods = this.host.lookup(req.service);
    // INVALID_ARGUMENT for an unknown service is what Kata's Rust agent answers (Go says UNIMPLEMENTED).
    if (!methods) return this.answer(call, undefined, new RpcError(Code.INVALID_ARGUMENT, `service ${req.service} is not supported`));
    const handler = methods.get(req.method);
    if (!handler) return this.answer(call, undefined, new RpcError(Code.UNIMPLEMENTED, `method ${req.service}/${req.method} is not implemented`));
    let refused: RpcError | undefined;
    try {
      refused = this.host.onCall?.(call);
    } catch (e) {
      refused = new RpcError(Code.INTERNAL, `call filter failed: ${(e as Error).message}`);
    }
    if (refused) return this.answer(call, undefined, refused);

    this.calls.set(streamId, call);
    // setTimeout cannot wait longer than 2^31-1 ms (it would fire at once): such a deadline,
    // 24.8 days away, is left to the handler via ctx.deadline.
    const wait = deadline === undefined ? 0 : Math.max(0, deadline - Date.now());
    if (deadline !== undefined && wait <= MAX_TIMER_MS) call.timer = setTimeout(() => this.expire(call), wait);
    this.invoke(call, handler, req.payload);
  }

  private invoke(call: Call, handler: Handler, payload: Uint8Array): void {
    let result: Promise<Payload> | Payload;
    try {
      result = handler(payload, call);
    } catch (e) {
      this.answer(call, undefined, toRpcError(e));
      return;
    }
    if (result instanceof Uint8Array || Array.isArray(result)) this.answer(call, result as Payload, undefined);
    else if (result && typeof (result as Promise<Payload>).then === "function") {
      (result as Promise<Payload>).then(
        (bytes) => this.answer(call, bytes, undefined),
        (e) => this.answer(call, undefined, toRpcError(e)),
      );
    } else this.answer(call, undefined, new RpcError(Code.INTERNAL, "handler returned no payload"));
  }

  /** A data frame: never valid on our unary streams. The stream (if live) is failed and answered. */
  private onData(streamId: number): void {
    const call = this.calls.get(streamId);
    if (call) {
      call.abort(Code.INVALID_ARGUMENT, "data frame on a unary stream");
      this.answer(call, undefined, new RpcError(Code.INVALID_ARGUMENT, "data frames are not supported on unary methods"));
      return;
    }
    this.sendStatus(streamId, Code.INVALID_ARGUMENT, `StreamID ${streamId} is not active (data frames are not supported)`);
  }

  private expire(call: Call): void {
    call.timer = undefined;
    call.abort(Code.DEADLINE_EXCEEDED, DEADLINE_MESSAGE);
    this.answer(call, undefined, new RpcError(Code.DEADLINE_EXCEEDED, DEADLINE_MESSAGE));
  }

  // ---- flow control ----------------------------------------------------------------------------

  private overLimit(unsentLimit: number): boolean {
    return this.writer.pending > unsentLimit || this.calls.size >= this.limits.maxCallsInFlight;
  }

  /** Stops reading when over a limit; resumes (and replays the backlog) well under it. */
  private checkPressure(): void {
    if (this.closed) return;
    if (!this.paused) {
      if (this.overLimit(this.limits.maxUnsentBytes)) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    if (this.overLimit(this.limits.maxUnsentBytes / 2)) return;
    this.paused = false;
    this.replay();
    if (!this.paused && !this.closed) this.socket.resume();
  }

  private replay(): void {
    if (this.replaying) return;
    this.replaying = true;
    try {
      while (this.backlog.length > 0 && !this.paused && !this.closed) {
        const f = this.backlog.shift()!;
        if (f.oversize !== undefined) this.onOversize(f.streamId, f.type, f.flags, f.oversize);
        else this.dispatch(f.streamId, f.type, f.flags, f.body);
        if (this.overLimit(this.limits.maxUnsentBytes)) {
          this.paused = true;
          this.socket.pause();
        }
      }
    } finally {
      this.replaying = false;
    }
  }

  // ---- frames out ------------------------------------------------------------------------------

  /** Answers a call once: later outcomes (a handler finishing after its deadline) are dropped. */
  private answer(call: Call, payload: Payload | undefined, error: RpcError | undefined): void {
    if (!call.settle()) return;
    this.calls.delete(call.streamId);
    let code: number = Code.OK;
    if (error) code = error.code;
    else if (!(payload instanceof Uint8Array) && !Array.isArray(payload)) {
      error = new RpcError(Code.INTERNAL, "handler returned no payload");
      code = error.code;
    }
    if (!this.closed) {
      code = error
        ? this.sendError(call.streamId, error)
        : this.sendPayload(call.streamId, payload!);
    }
    this.reportDone(call, code);
    if (this.paused) this.checkPressure();
  }

  private reportDone(call: Call, code: number): void {
    try {
      this.host.onDone?.(call, code, call.elapsedMs());
    } catch (error) {
      this.host.log.warn("ttrpc onDone hook failed", { error });
    }
  }

  /** OK responses carry no status field, like containerd's Go server; returns the code sent. */
  private sendPayload(streamId: number, payload: Payload): number {
    if (!(payload instanceof Uint8Array)) return this.sendParts(streamId, payload);
    const frame = encodeResponse({ payload }, HEADER_LENGTH);
    if (frame.length - HEADER_LENGTH > this.host.maxMessage) {
      return this.sendError(streamId, new RpcError(Code.RESOURCE_EXHAUSTED,
        `response of ${frame.length - HEADER_LENGTH} bytes exceeds the maximum message size of ${this.host.maxMessage}`));
    }
    this.sendFrame(streamId, frame);
    return Code.OK;
  }

  /** The frame header and envelope prefix, then each part as it is (zero copies in JS). */
  private sendParts(streamId: number, parts: readonly Uint8Array[]): number {
    let total = 0;
    for (const part of parts) total += part.length;
    const prefix = encodeResponsePrefix(total, HEADER_LENGTH);
    const bodyLength = prefix.length - HEADER_LENGTH + total;
    if (bodyLength > this.host.maxMessage) {
      return this.sendError(streamId, new RpcError(Code.RESOURCE_EXHAUSTED,
        `response of ${bodyLength} bytes exceeds the maximum message size of ${this.host.maxMessage}`));
    }
    if (this.closed) return Code.OK;
    writeHeader(prefix, bodyLength, streamId, FrameType.Response, 0);
    this.writer.write(prefix);
    for (const part of parts) if (part.length > 0) this.writer.write(part);
    return Code.OK;
  }

  private sendError(streamId: number, e: RpcError): number {
    this.sendStatus(streamId, e.code, e.message, e.details);
    return e.code;
  }

  private sendStatus(streamId: number, code: number, message: string, details: Uint8Array[] = []): void {
    if (this.closed) return;
    const status: Status = { code, message, details };
    this.sendFrame(streamId, encodeResponse({ status, payload: EMPTY }, HEADER_LENGTH));
  }

  private sendFrame(streamId: number, frame: Buffer): void {
    writeHeader(frame, frame.length - HEADER_LENGTH, streamId, FrameType.Response, 0);
    this.writer.write(frame);
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** Socket drain: flush queued frames; finish a pending graceful end once everything is out. */
  drain(): void {
    this.writer.drain();
    if (this.paused) this.checkPressure();
    if (this.ending && this.writer.pending === 0) this.socket.end();
  }

  /** Graceful end: FIN after the frames already queued have been written. */
  end(): void {
    this.ending = true;
    if (this.writer.pending === 0) this.socket.end();
  }

  /** The socket closed (either side): abort every call; their late results go nowhere. */
  onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.writer.close();
    for (const call of this.calls.values()) {
      call.abort(Code.CANCELLED, "connection closed");
      if (call.settle()) this.reportDone(call, Code.CANCELLED);
    }
    this.calls.clear();
    this.backlog = [];
    this.host.connectionClosed(this);
  }
}

function metadataOf(req: Request): Record<string, string[]> {
  const md: Record<string, string[]> = Object.create(null);
  for (const { key, value } of req.metadata) (md[key] ??= []).push(value);
  return md;
}
