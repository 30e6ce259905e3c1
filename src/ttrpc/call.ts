// One in-flight server call: what a handler sees (CallContext) plus the bookkeeping that makes
// sure a stream is answered exactly once (deadline timer, abort on deadline or disconnect).
import { Code, RpcError } from "./status.ts";

export interface CallContext {
  readonly service: string;
  readonly method: string;
  /** ttRPC metadata; a key sent several times keeps every value in order. */
  readonly metadata: Record<string, string[]>;
  /** Absolute deadline in ms since the epoch, from Request.timeout_nano; absent = none. */
  readonly deadline?: number;
  /** Aborted (reason: an RpcError) when the deadline passes or the connection goes away. */
  readonly signal: AbortSignal;
  readonly streamId: number;
}

/**
 * A handler's answer: the response payload, or its parts in order (sent one after the other
 * without being joined — large payloads such as ReadStdout data are never copied in JS).
 */
export type Payload = Uint8Array | readonly Uint8Array[];
export type Handler = (payload: Uint8Array, ctx: CallContext) => Promise<Payload> | Payload;

export class Call implements CallContext {
  /** Set once the stream has been answered (or can no longer be); later results are dropped. */
  done = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly started = performance.now();
  // Most handlers never look at the signal: create the AbortController only on first use.
  private controller: AbortController | undefined = undefined;
  private abortReason: RpcError | undefined = undefined;

  constructor(
    readonly streamId: number,
    readonly service: string,
    readonly method: string,
    readonly metadata: Record<string, string[]>,
    readonly deadline: number | undefined,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  abort(code: Code, message: string): void {
    if (this.abortReason) return;
    this.abortReason = new RpcError(code, message);
    this.controller?.abort(this.abortReason);
  }

  /** Marks the call answered and stops its timer; false if it already was. */
  settle(): boolean {
    if (this.done) return false;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    return true;
  }

  elapsedMs(): number {
    return performance.now() - this.started;
  }
}
