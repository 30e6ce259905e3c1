// ttRPC server on Bun's socket API. Listens on unix (file or abstract), vsock (an fd made in
// src/sys/socket.ts, served by Bun.listen({ fd })) and TCP addresses; any number of them.
//
// Wire choices (containerd/ttrpc PROTOCOL.md; see server-connection.ts for the per-stream rules):
// OK responses omit Response.status (as Go does); errors carry google.rpc.Status. Unknown service =
// INVALID_ARGUMENT (Kata's Rust agent), unknown method = UNIMPLEMENTED, bad envelope / even or reused
// stream id / data frame = INVALID_ARGUMENT, oversize frame = RESOURCE_EXHAUSTED after its body
// was skipped, timeout_nano = DEADLINE_EXCEEDED when it passes.
import type { Socket, SocketHandler } from "bun";
import { log as rootLog, type Logger } from "../log/logger.ts";
import { removeStaleSocket } from "../sys/file.ts";
import { setSendBuffer, vsockListen } from "../sys/socket.ts";
import { formatAddress, parseAddress, type Address } from "./address.ts";
import type { CallContext, Handler } from "./call.ts";
import { MAX_MESSAGE } from "./frame.ts";
import { DEFAULT_LIMITS, ServerConnection, type ConnectionHost, type ConnectionLimits } from "./server-connection.ts";
import type { RpcError } from "./status.ts";

export type { CallContext, Handler } from "./call.ts";

export interface ServerOptions {
  log?: Logger;
  /** Largest frame body accepted and sent (default 4 MiB, ttRPC's limit). */
  maxMessage?: number;
  /** Runs before a handler; returning an RpcError answers the call with it (allow-lists). */
  onCall?: (ctx: CallContext) => RpcError | undefined;
  /** Runs once per decoded request when its answer is sent (or dropped: CANCELLED on disconnect). */
  onDone?: (ctx: CallContext, code: number, durationMs: number) => void;
  /** Per-connection flow control (default: 4 MiB unsent answers, 1024 calls in flight). */
  limits?: ConnectionLimits;
}

interface Listening {
  address: Address;
  /** The address as clients should dial it (a TCP port 0 resolved to the real port). */
  text: string;
  stop(): void;
}

type Listener = { stop(closeActiveConnections?: boolean): void; port?: number };

export class TtrpcServer implements ConnectionHost {
  readonly log: Logger;
  readonly maxMessage: number;
  readonly onCall?: (ctx: CallContext) => RpcError | undefined;
  readonly onDone?: (ctx: CallContext, code: number, durationMs: number) => void;
  readonly limits: ConnectionLimits;
  private readonly services = new Map<string, Map<string, Handler>>();
  private readonly lazy = new Map<string, () => Record<string, Handler>>();
  private readonly listening: Listening[] = [];
  private readonly connections = new Set<ServerConnection>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly handlers: SocketHandler<ServerConnection>;

  constructor(opts: ServerOptions = {}) {
    this.log = opts.log ?? rootLog.child({ subsystem: "ttrpc" });
    this.maxMessage = opts.maxMessage ?? MAX_MESSAGE;
    this.onCall = opts.onCall;
    this.onDone = opts.onDone;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    // One handler object for every connection; per-connection state lives in socket.data.
    this.handlers = {
      open: (socket) => {
        raiseSendBuffer(socket, this.log);
        const conn = new ServerConnection(this, socket);
        socket.data = conn;
        this.connections.add(conn);
      },
      data: (socket, chunk) => {
        try {
          socket.data.parser.push(chunk);
        } catch (error) {
          // Only a bug gets here (protocol errors are answered on their stream), and the rest of
          // the chunk is lost, so the framing is out of step: drop this connection, keep serving.
          this.log.error("ttrpc connection dropped after an internal error", { error });
          socket.terminate();
          socket.data.onClosed();
        }
      },
      drain: (socket) => socket.data.drain(),
      close: (socket) => socket.data?.onClosed(),
      error: (socket, error) => {
        this.log.warn("ttrpc connection error", { error });
        socket.terminate();
        socket.data?.onClosed();
      },
    };
  }

  register(service: string, methods: Record<string, Handler>): void {
    if (this.services.has(service) || this.lazy.has(service)) throw new Error(`ttrpc service ${service} registered twice`);
    this.services.set(service, new Map(Object.entries(methods)));
  }

  /** Registers a service whose handlers are built on its first call (or an explicit lookup):
   *  what they need is then loaded off the start-up path. */
  registerLazy(service: string, load: () => Record<string, Handler>): void {
    if (this.services.has(service) || this.lazy.has(service)) throw new Error(`ttrpc service ${service} registered twice`);
    this.lazy.set(service, load);
  }

  lookup(service: string): Map<string, Handler> | undefined {
    const found = this.services.get(service);
    if (found) return found;
    const load = this.lazy.get(service);
    if (!load) return undefined;
    this.lazy.delete(service);
    this.register(service, load());
    return this.services.get(service);
  }

  /** Addresses being served, as clients would dial them. */
  get addresses(): string[] {
    return this.listening.map((l) => l.text);
  }

  /** Live connections (for tests and diagnostics). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Per-connection unsent bytes, calls in flight and paused state (for tests and diagnostics). */
  connectionStats(): Array<{ unsentBytes: number; inFlight: number; paused: boolean }> {
    return [...this.connections].map((c) => ({ unsentBytes: c.unsentBytes, inFlight: c.inFlight, paused: c.isPaused }));
  }

  async listen(address: string): Promise<void> {
    const addr = parseAddress(address);
    const listener = this.bind(addr, address);
    const text = addr.kind === "tcp" && addr.port === 0
      ? formatAddress({ ...addr, port: listener.port ?? 0 })
      : formatAddress(addr);
    const stop = () => {
      listener.stop(false);
      if (addr.kind === "unix") removeStaleSocket(addr.path);
    };
    this.listening.push({ address: addr, text, stop });
    this.log.info("ttrpc server listening", { address: text });
  }

  private bind(addr: Address, address: string): Listener {
    const socket = this.handlers;
    try {
      switch (addr.kind) {
        case "unix":
          // A socket file left by an earlier run would make bind fail with EADDRINUSE.
          removeStaleSocket(addr.path);
          return Bun.listen<ServerConnection>({ unix: addr.path, socket }) as Listener;
        case "abstract":
          return Bun.listen<ServerConnection>({ unix: `\0${addr.name}`, socket }) as Listener;
        case "tcp":
          return Bun.listen<ServerConnection>({ hostname: addr.host, port: addr.port, socket }) as Listener;
        case "vsock": {
          const fd = vsockListen(addr.cid, addr.port);
          // Bun's types lack the fd form of listen; it adopts the fd and closes it on stop().
          return (Bun.listen as (o: unknown) => Listener)({ fd, socket });
        }
      }
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.message.includes(address)) throw err;
      throw new Error(`ttrpc listen on ${address}: ${err.code ? `${err.code}: ` : ""}${err.message}`, { cause: e });
    }
  }

  connectionClosed(conn: ServerConnection): void {
    this.connections.delete(conn);
    if (this.connections.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * Stops accepting, ends every connection once the answers already written have been flushed
   * (calls still running are aborted with CANCELLED and their answers dropped) and resolves once
   * all sockets have closed (forcing them after graceMs). To answer a call and then close (Kata's
   * DestroySandbox), schedule close() after the handler returns, e.g. `setTimeout(() => server.close())`.
   */
  async close(graceMs = 1000): Promise<void> {
    for (const l of this.listening.splice(0)) l.stop();
    if (this.connections.size === 0) return;
    const idle = new Promise<void>((wake) => this.idleWaiters.push(wake));
    for (const conn of this.connections) conn.end();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((wake) => (timer = setTimeout(() => wake("late"), graceMs)));
    if ((await Promise.race([idle, late])) === "late") {
      for (const conn of [...this.connections]) {
        conn.socket.terminate();
        conn.onClosed();
      }
    }
    clearTimeout(timer);
  }
}

/**
 * Answers of up to 4 MiB (ReadStdout) leave in one write instead of trickling through the default
 * ~200 KiB unix-socket send buffer with a wake-up of the reader per slice: 1 GiB of ReadStdout with
 * 4 MiB reads went from ~620 to ~750 MiB/s (bench/: stdout rows). The buffer holds only bytes in
 * flight. Over vsock the limit is the peer's receive buffer instead, so this changes nothing there.
 */
const SEND_BUFFER_BYTES = 4 << 20;

function raiseSendBuffer(socket: Socket<ServerConnection>, log: Logger): void {
  const fd = (socket as unknown as { fd?: number }).fd;
  if (typeof fd !== "number" || fd < 0) return;
  try {
    setSendBuffer(fd, SEND_BUFFER_BYTES);
  } catch (error) {
    log.debug("could not raise the connection's send buffer", { error });
  }
}
