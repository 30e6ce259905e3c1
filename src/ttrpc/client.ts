// ttRPC client on Bun's socket API, for agent-ctl, tests and benchmarks. One connection, many
// calls in flight (odd, rising stream ids), answers matched by stream id in any order.
// Addresses as in address.ts; `hybridVsockPort` speaks the Firecracker/Cloud Hypervisor hybrid
// vsock handshake on a unix socket first ("CONNECT <port>\n" → "OK …\n").
import type { Socket, SocketHandler } from "bun";
import { vsockConnect } from "../sys/socket.ts";
import { parseAddress, type Address } from "./address.ts";
import { decodeResponse, encodeRequest, type KeyValue } from "./envelope.ts";
import { FrameParser, FrameType, HEADER_LENGTH, MAX_MESSAGE, writeHeader, type FrameSink } from "./frame.ts";
import { Code, RpcError } from "./status.ts";
import { FrameWriter } from "./writer.ts";

export interface ConnectOptions {
  /** Hybrid vsock: after connecting the unix socket, ask its owner for this guest port. */
  hybridVsockPort?: number;
  /** Limit for connecting (and the handshake). Default 5000 ms. */
  timeoutMs?: number;
  maxMessage?: number;
}

export interface CallOptions {
  /** Sent as Request.timeout_nano; the server answers DEADLINE_EXCEEDED when it passes. */
  timeoutNs?: number;
  metadata?: Record<string, string[]>;
  /** Aborting rejects the call with CANCELLED (ttRPC has no cancel frame; the answer is dropped). */
  signal?: AbortSignal;
}

export interface RawFrame {
  streamId: number;
  type: number;
  flags: number;
  body: Uint8Array;
}

interface Pending {
  resolve(payload: Uint8Array): void;
  reject(e: RpcError): void;
  timer?: ReturnType<typeof setTimeout>;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * The server answers a deadline itself; the client's own timer is a backstop for a server that
 * never answers, so it waits this much longer to let the server's DEADLINE_EXCEEDED arrive first.
 */
const CLIENT_DEADLINE_GRACE_MS = 200;
/** Frames nobody is waiting for yet, kept per stream for waitFrame() (bounded). */
const MAX_UNCLAIMED = 256;

const HANDLERS: SocketHandler<TtrpcClient> = {
  data: (socket, chunk) => {
    try {
      socket.data.onBytes(chunk);
    } catch {
      // A bug left the framing out of step: this connection cannot be trusted any more.
      socket.terminate();
      socket.data.onClosed();
    }
  },
  drain: (socket) => socket.data.writer?.drain(),
  close: (socket) => socket.data.onClosed(),
  error: (socket) => {
    socket.terminate();
    socket.data.onClosed();
  },
  connectError: () => {
    // Reported through the rejected Bun.connect promise.
  },
};

export class TtrpcClient implements FrameSink {
  writer: FrameWriter | undefined;
  private socket: Socket<TtrpcClient> | undefined;
  private readonly parser: FrameParser;
  private nextStreamIdValue = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly unclaimed = new Map<number, RawFrame[]>();
  private unclaimedCount = 0;
  private readonly frameWaiters = new Map<number, Array<(f: RawFrame | RpcError) => void>>();
  private handshake: { line: string; done(err?: Error): void } | undefined;
  private isClosed = false;
  private socketGone = false;
  private readonly closeWaiters: Array<() => void> = [];

  private constructor(readonly address: string, private readonly maxMessage: number) {
    this.parser = new FrameParser(this, maxMessage);
  }

  static async connect(address: string, opts: ConnectOptions = {}): Promise<TtrpcClient> {
    const addr = parseAddress(address);
    const client = new TtrpcClient(address, opts.maxMessage ?? MAX_MESSAGE);
    const timeoutMs = opts.timeoutMs ?? 5000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RpcError(Code.DEADLINE_EXCEEDED, `connect ${address}: timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([client.open(addr, timeoutMs, opts.hybridVsockPort), timeout]);
      return client;
    } catch (e) {
      client.shutdown(); // also ends a socket that connects after the timeout
      if (e instanceof RpcError) throw e;
      throw new RpcError(Code.UNAVAILABLE, `connect ${address}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private async open(addr: Address, timeoutMs: number, hybridPort: number | undefined): Promise<void> {
    const options = { socket: HANDLERS, data: this };
    let socket: Socket<TtrpcClient>;
    switch (addr.kind) {
      case "unix":
        socket = await Bun.connect({ ...options, unix: addr.path });
        break;
      case "abstract":
        socket = await Bun.connect({ ...options, unix: `\0${addr.name}` });
        break;
      case "tcp":
        socket = await Bun.connect({ ...options, hostname: addr.host, port: addr.port });
        break;
      case "vsock": {
        const fd = await vsockConnect(addr.cid, addr.port, timeoutMs);
        // Bun's types lack the fd form of connect; Bun adopts (and later closes) the fd.
        socket = await (Bun.connect as (o: unknown) => Promise<Socket<TtrpcClient>>)({ ...options, fd });
        break;
      }
    }
    this.socket = socket;
    this.writer = new FrameWriter(socket as Socket<unknown>);
    if (this.isClosed) {
      socket.end(); // connect() already gave up (timeout)
      return;
    }
    if (hybridPort !== undefined) await this.hybridHandshake(hybridPort);
  }

  private hybridHandshake(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.handshake = { line: "", done: (err) => (err ? reject(err) : resolve()) };
      this.writer!.write(Buffer.from(`CONNECT ${port}\n`));
    });
  }

  // ---- socket events ---------------------------------------------------------------------------

  onBytes(chunk: Uint8Array): void {
    if (!this.handshake) {
      this.parser.push(chunk);
      return;
    }
    const nl = chunk.indexOf(0x0a);
    const h = this.handshake;
    h.line += Buffer.from(nl < 0 ? chunk : chunk.subarray(0, nl)).toString("latin1");
    if (nl < 0) {
      if (h.line.length > 512) this.failHandshake(`no reply line to CONNECT (got ${JSON.stringify(h.line.slice(0, 64))}…)`);
      return;
    }
    this.handshake = undefined;
    if (!h.line.startsWith("OK")) {
      h.done(new Error(`hybrid vsock CONNECT refused: ${JSON.stringify(h.line)}`));
      this.shutdown();
      return;
    }
    h.done();
    if (nl + 1 < chunk.length) this.parser.push(chunk.subarray(nl + 1));
  }

  private failHandshake(why: string): void {
    const h = this.handshake!;
    this.handshake = undefined;
    h.done(new Error(why));
    this.shutdown();
  }

  onFrame(streamId: number, type: number, flags: number, body: Uint8Array): void {
    const call = type === FrameType.Response ? this.pending.get(streamId) : undefined;
    if (!call) {
      this.deliverRaw({ streamId, type, flags, body });
      return;
    }
    this.forget(streamId, call);
    let status;
    let payload: Uint8Array;
    try {
      ({ status, payload } = decodeResponse(body));
    } catch (e) {
      call.reject(new RpcError(Code.INTERNAL, `bad response on stream ${streamId}: ${(e as Error).message}`));
      return;
    }
    if (status && status.code !== Code.OK) call.reject(new RpcError(status.code, status.message, status.details));
    else call.resolve(payload);
  }

  onOversize(streamId: number, _type: number, _flags: number, length: number): void {
    const call = this.pending.get(streamId);
    if (!call) return;
    this.forget(streamId, call);
    call.reject(new RpcError(Code.RESOURCE_EXHAUSTED, `response of ${length} bytes exceeds ${this.maxMessage}`));
  }

  /** The socket closed (either side). */
  onClosed(): void {
    if (this.socketGone) return;
    this.socketGone = true;
    this.writer?.close();
    this.shutdown();
    for (const wake of this.closeWaiters.splice(0)) wake();
  }

  // ---- calls -----------------------------------------------------------------------------------

  get closed(): boolean {
    return this.isClosed;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  call(service: string, method: string, payload: Uint8Array, opts: CallOptions = {}): Promise<Uint8Array> {
    if (this.isClosed) return Promise.reject(new RpcError(Code.UNAVAILABLE, "ttrpc: client is closed"));
    if (opts.signal?.aborted) return Promise.reject(new RpcError(Code.CANCELLED, "ttrpc: call cancelled"));
    const metadata: KeyValue[] = [];
    if (opts.metadata) {
      for (const key in opts.metadata) for (const value of opts.metadata[key]!) metadata.push({ key, value });
    }
    const timeoutNano = opts.timeoutNs && opts.timeoutNs > 0 ? opts.timeoutNs : 0;
    const frame = encodeRequest({ service, method, payload, timeoutNano, metadata }, HEADER_LENGTH);
    if (frame.length - HEADER_LENGTH > this.maxMessage) {
      return Promise.reject(new RpcError(Code.RESOURCE_EXHAUSTED,
        `request of ${frame.length - HEADER_LENGTH} bytes exceeds the maximum message size of ${this.maxMessage}`));
    }
    const streamId = this.nextStreamId();
    writeHeader(frame, frame.length - HEADER_LENGTH, streamId, FrameType.Request, 0);
    return new Promise<Uint8Array>((resolve, reject) => {
      const call: Pending = { resolve, reject };
      if (timeoutNano > 0 && timeoutNano / 1e6 + CLIENT_DEADLINE_GRACE_MS <= 0x7fffffff) {
        call.timer = setTimeout(() => {
          this.forget(streamId, call);
          reject(new RpcError(Code.DEADLINE_EXCEEDED, "context deadline exceeded (no answer from server)"));
        }, timeoutNano / 1e6 + CLIENT_DEADLINE_GRACE_MS);
      }
      if (opts.signal) {
        call.signal = opts.signal;
        call.onAbort = () => {
          this.forget(streamId, call);
          reject(new RpcError(Code.CANCELLED, "ttrpc: call cancelled"));
        };
        opts.signal.addEventListener("abort", call.onAbort, { once: true });
      }
      this.pending.set(streamId, call);
      this.writer!.write(frame);
    });
  }

  private forget(streamId: number, call: Pending): void {
    this.pending.delete(streamId);
    if (call.timer !== undefined) clearTimeout(call.timer);
    if (call.onAbort) call.signal!.removeEventListener("abort", call.onAbort);
  }

  // ---- raw access for protocol tests -----------------------------------------------------------

  /** Reserves the next odd stream id (for hand-made request frames that must look legitimate). */
  nextStreamId(): number {
    const id = this.nextStreamIdValue;
    if (id > 0xffffffff) throw new RpcError(Code.RESOURCE_EXHAUSTED, "ttrpc: stream ids exhausted");
    this.nextStreamIdValue += 2;
    return id;
  }

  /** Writes bytes as they are: hand-made frames (even ids, data frames, bogus lengths…). */
  sendRawFrame(bytes: Uint8Array): void {
    if (this.isClosed) throw new RpcError(Code.UNAVAILABLE, "ttrpc: client is closed");
    this.writer!.write(bytes);
  }

  /** The next frame on `streamId` that no call() claimed (already received or still to come). */
  waitFrame(streamId: number, timeoutMs = 5000): Promise<RawFrame> {
    const queued = this.unclaimed.get(streamId);
    if (queued?.length) {
      const f = queued.shift()!;
      this.unclaimedCount--;
      if (queued.length === 0) this.unclaimed.delete(streamId);
      return Promise.resolve(f);
    }
    if (this.isClosed) return Promise.reject(new RpcError(Code.UNAVAILABLE, "ttrpc: connection closed"));
    return new Promise<RawFrame>((resolve, reject) => {
      const waiter = (f: RawFrame | RpcError) => {
        clearTimeout(timer);
        if (f instanceof RpcError) reject(f);
        else resolve(f);
      };
      const timer = setTimeout(() => {
        const list = this.frameWaiters.get(streamId);
        list?.splice(list.indexOf(waiter), 1);
        reject(new RpcError(Code.DEADLINE_EXCEEDED, `no frame on stream ${streamId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const list = this.frameWaiters.get(streamId);
      if (list) list.push(waiter);
      else this.frameWaiters.set(streamId, [waiter]);
    });
  }

  private deliverRaw(f: RawFrame): void {
    const waiters = this.frameWaiters.get(f.streamId);
    if (waiters?.length) {
      const w = waiters.shift()!;
      if (waiters.length === 0) this.frameWaiters.delete(f.streamId);
      w(f);
      return;
    }
    if (this.unclaimedCount >= MAX_UNCLAIMED) return; // nobody asked; do not grow without bound
    const list = this.unclaimed.get(f.streamId);
    if (list) list.push(f);
    else this.unclaimed.set(f.streamId, [f]);
    this.unclaimedCount++;
  }

  // ---- closing ---------------------------------------------------------------------------------

  /** Ends the connection; calls still in flight fail with UNAVAILABLE. Resolves once the socket closed. */
  async close(): Promise<void> {
    if (this.socketGone || !this.socket) {
      this.shutdown();
      return;
    }
    const closed = new Promise<void>((wake) => this.closeWaiters.push(wake));
    this.shutdown();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([closed, new Promise<void>((wake) => (timer = setTimeout(wake, 1000)))]);
    clearTimeout(timer);
  }

  /** No more calls: end the socket (if any) and fail whatever is in flight. */
  private shutdown(): void {
    if (!this.isClosed) {
      this.isClosed = true;
      this.socket?.end();
    }
    if (this.handshake) {
      const h = this.handshake;
      this.handshake = undefined;
      h.done(new Error("connection closed during the hybrid vsock handshake"));
    }
    const gone = new RpcError(Code.UNAVAILABLE, "ttrpc: connection closed");
    for (const [id, call] of this.pending) {
      this.forget(id, call);
      call.reject(gone);
    }
    for (const waiters of this.frameWaiters.values()) for (const w of waiters) w(gone);
    this.frameWaiters.clear();
  }
}
