// The stdin side of a container process: WriteStdin writes everything it is given (and answers
// with the length), an empty write or CloseStdin closes it so the process sees EOF.
// Writes are queued through Bun's FileSink, which waits for a full pipe to drain instead of
// failing with EAGAIN, so a slow reader in the container never loses bytes.
// For a pipe the FileSink is made on the first write: most processes (every ExecProcess of a
// command that reads nothing) never get input, and an eager sink cost each of them a dup, an
// fstat, an epoll registration with its EPOLLOUT wake-up and an end() at exit (issue 15).
import type { FileSink } from "bun";
import { precondition } from "../errors.ts";
import { closeFd } from "../sys/pipe.ts";

export class InputStream {
  private sink: FileSink | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * @param fd the agent's write end (owned from now on; for a pty, a dup of the master).
   * @param isTty on close, send ^D first so a reader in canonical mode (cat, sh) sees end of input.
   */
  constructor(private readonly fd: number, private readonly isTty = false) {
    // A terminal's sink is made at once: Bun's FileSink clears O_NONBLOCK on a tty, and the
    // caller sets it again only after the sink exists (see createPtyStdio).
    if (isTty) this.sink = this.makeSink();
  }

  private makeSink(): FileSink {
    return Bun.file(this.fd).writer({ highWaterMark: 1 << 16 });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Writes all of `data`; resolves with its length once it is in the pipe. */
  write(data: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(closedError());
    const sink = (this.sink ??= this.makeSink());
    // Serialise: each write is fully flushed before the next starts, so order is preserved
    // even when several WriteStdin calls are in flight.
    const p = this.queue.then(async () => {
      // A write queued behind one that met EPIPE: the sink would accept it and report success
      // for bytes that go nowhere.
      if (this.closed) throw closedError();
      try {
        // A write above the high-water mark returns a promise instead of a count, and that promise
        // rejects on EPIPE (the process is gone): unawaited, it crashed the agent, and flush()
        // then reported success for bytes that were never written.
        const queued = sink.write(data);
        if (typeof queued !== "number") await queued;
        await sink.flush();
      } catch (e) {
        // The reader is gone for good (EPIPE): close stdin so every later write fails too.
        void this.close();
        const code = (e as { code?: string }).code ?? "";
        throw precondition(`stdin is closed: the process stopped reading (${code || (e as Error).message})`);
      }
      return data.length;
    });
    this.queue = p.catch(() => {});
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sink = this.sink;
    this.sink = undefined;
    await this.queue;
    try {
      if (sink) {
        if (this.isTty) {
          sink.write(new Uint8Array([4]));
          await sink.flush();
        }
        await sink.end();
      }
    } catch {
      // The reader is gone (EPIPE): nothing left to deliver.
    }
    // FileSink.end() does not close the fd; without this the process never sees EOF.
    closeFd(this.fd);
  }
}

const closedError = () => precondition("stdin is closed (CloseStdin, an empty write, or the process stopped reading)");
