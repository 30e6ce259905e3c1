// One output stream of a container process (stdout, stderr, or a pty master), read the way
// Kata's ReadStdout/ReadStderr work: each read returns up to `len` bytes, an empty result means
// EOF. Bytes are never dropped or reordered: the fd is read with read(2) when the agent's one
// readiness thread (src/sys/readiness.ts) reports it readable, and at most `readAhead` bytes are
// buffered in the agent; beyond that we stop reading, the pipe fills, and the container's
// writes block (back-pressure instead of loss). No Bun stream per fd: an idle stream kept ~9 KiB
// of buffers per fd for as long as the container ran.
//
// The read-ahead starts at `highWater` and grows to the largest `len` a reader has asked for (up
// to MAX_READ_AHEAD, the most one ttRPC answer can carry): a reader that takes 4 MiB per call gets
// 4 MiB answers instead of whatever trickled in since its last call. With one call in flight
// that is the difference between ~400 and ~600 MiB/s (bench/: stdout rows).
import { closeFd, readSome } from "../sys/pipe.ts";
import { bytesAvailable } from "../sys/fd.ts";
import { readinessHub, type Watch } from "../sys/readiness.ts";

/** ttRPC's 4 MiB message limit: no single answer can carry more. */
const MAX_READ_AHEAD = 4 << 20;

export class OutputStream {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private eof = false;
  /** Armed in the readiness hub: a report will come when the fd has bytes or hangs up. */
  private armed = false;
  private waiters: (() => void)[] = [];
  private watch: Watch | undefined;
  private readAhead: number;

  /**
   * @param fd the agent's end (non-blocking), owned by this object from now on.
   * @param highWater stop reading the fd while this many bytes wait for a ReadStdout (until a
   *   reader asks for more per call: see readAhead).
   * A read error ends the stream like EOF (a pty master reports EIO once the slave closes).
   */
  constructor(private readonly fd: number, highWater = 1 << 20) {
    this.readAhead = highWater;
    this.watch = readinessHub().watch(fd, (hangup) => this.onReadable(hangup));
    this.armed = true;
  }

  /**
   * Resolves with up to `len` bytes, as the chunks read from the fd; no chunks means end of
   * stream. When `signal` aborts
   * (the caller's connection went away) the read rejects without taking any bytes, so output
   * that arrives later goes to the next reader instead of a dead one.
   */
  async readChunks(len: number, signal?: AbortSignal): Promise<Uint8Array[]> {
    if (len <= 0) len = 1;
    if (len > this.readAhead) this.readAhead = Math.min(len, MAX_READ_AHEAD);
    while (this.buffered === 0 && !this.eof) {
      if (signal?.aborted) throw signal.reason;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = (): void => {
          this.waiters = this.waiters.filter((w) => w !== wake);
          resolve();
        };
        this.waiters.push(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    if (signal?.aborted) throw signal.reason;
    if (this.buffered === 0) return [];
    // Whole chunks as they came from the fd (no copying); only the last may be split.
    const out: Uint8Array[] = [];
    let n = 0;
    while (this.chunks.length > 0 && n < len) {
      const c = this.chunks[0]!;
      if (n + c.length <= len) {
        out.push(c);
        n += c.length;
        this.chunks.shift();
      } else {
        out.push(c.subarray(0, len - n));
        this.chunks[0] = c.subarray(len - n);
        n = len;
      }
    }
    this.buffered -= n;
    if (!this.armed && !this.eof && this.buffered < this.readAhead) this.onReadable(false);
    return out;
  }

  /** Like readChunks, joined into one array (tests and small reads). */
  async read(len: number, signal?: AbortSignal): Promise<Uint8Array> {
    const parts = await this.readChunks(len, signal);
    if (parts.length === 1) return parts[0]!;
    return new Uint8Array(Buffer.concat(parts));
  }

  /** True once the writer side is closed and everything buffered was read. */
  get drained(): boolean {
    return this.eof && this.buffered === 0;
  }

  /** Stop reading: what is buffered can still be read, then EOF. */
  close(): void {
    if (this.eof) return;
    this.finish();
  }

  /**
   * The writer has exited but something (a background process) may still hold the write end:
   * end the stream as soon as the pipe holds nothing more, checking for at most `limitMs`.
   */
  closeWhenIdle(limitMs = 5000): void {
    const deadline = Date.now() + limitMs;
    const check = (): void => {
      if (this.eof) return;
      let pending = 0;
      try {
        pending = bytesAvailable(this.fd);
      } catch {
        pending = 0;
      }
      if (pending === 0 || Date.now() > deadline) this.close();
      else setTimeout(check, 20).unref();
    };
    check();
  }

  private finish(): void {
    this.eof = true;
    this.armed = false;
    const watch = this.watch;
    this.watch = undefined;
    try {
      watch?.cancel();
    } finally {
      closeFd(this.fd);
      this.wake();
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * Reads what the fd holds until it is empty (then re-arms) or the read-ahead is full (then
   * stays unarmed until a reader takes bytes). Runs on a readiness report (`hangup`: every writer
   * is gone, so an empty fd means end of file) and when a reader makes room. Only ever reads
   * bytes that FIONREAD says are there, so it cannot block even if something cleared O_NONBLOCK.
   */
  private onReadable(hangup: boolean): void {
    this.armed = false;
    if (this.eof) return;
    let got = false;
    try {
      while (this.buffered < this.readAhead) {
        const avail = bytesAvailable(this.fd);
        if (avail === 0) {
          if (hangup) this.finish();
          else {
            this.armed = true;
            this.watch?.rearm();
          }
          break;
        }
        // Never past the read-ahead: the rest stays in the pipe (back-pressure).
        const buf = new Uint8Array(new ArrayBuffer(Math.min(avail, this.readAhead - this.buffered)));
        const n = readSome(this.fd, buf);
        if (n <= 0) {
          // EAGAIN (or 0) although FIONREAD counted bytes: wait for the next report.
          this.armed = true;
          this.watch?.rearm();
          break;
        }
        this.chunks.push(n === buf.length ? buf : buf.slice(0, n));
        this.buffered += n;
        got = true;
      }
    } catch {
      // EIO from a pty master whose slave side closed, or any other error: the end of this
      // stream (what was read stays readable).
      this.armed = false;
      if (!this.eof) this.finish();
    }
    if (got) this.wake();
  }
}
