// Ordered, non-blocking writes to a Bun socket. Bun's `socket.write` writes what the kernel takes
// right now and returns that count; whatever is left is ours to keep and retry on `drain`. Frames
// are queued whole (never copied) and sent strictly in order.
import type { Socket } from "bun";

export class FrameWriter {
  private queue: Uint8Array[] = [];
  private head = 0;
  private queuedBytes = 0;
  private closed = false;

  constructor(private readonly socket: Socket<unknown>) {}

  /** Bytes accepted but not yet handed to the kernel (a slow reader makes this grow). */
  get pending(): number {
    return this.queuedBytes;
  }

  write(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.head < this.queue.length) {
      this.enqueue(frame);
      return;
    }
    const n = this.socket.write(frame);
    if (n < frame.length) this.enqueue(n > 0 ? frame.subarray(n) : frame);
  }

  /** Call from the socket's drain handler. */
  drain(): void {
    while (this.head < this.queue.length && !this.closed) {
      const frame = this.queue[this.head]!;
      const n = this.socket.write(frame);
      if (n > 0) this.queuedBytes -= n;
      if (n < frame.length) {
        if (n > 0) this.queue[this.head] = frame.subarray(n);
        return;
      }
      this.queue[this.head++] = EMPTY; // let the buffer be collected
    }
    this.queue = [];
    this.head = 0;
  }

  /** The socket is gone: late frames are dropped, queued ones released. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  private enqueue(frame: Uint8Array): void {
    this.queue.push(frame);
    this.queuedBytes += frame.length;
  }
}

const EMPTY = new Uint8Array(0);
