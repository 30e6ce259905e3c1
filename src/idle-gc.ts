// A full garbage collection once the agent goes quiet after a burst of work.
//
// JavaScriptCore collects when its heap grows past a limit it raises as the heap grows, so after a
// burst of RPCs (a pod starting ten containers) garbage can sit in the heap, and in the native
// buffers its objects own, until the next burst. A guest VM's memory is the pod's memory, so the
// agent tidies up when it goes idle: `delayMs` after the last call finished, if anything ran since
// the last collection. Long-polling calls that stay in flight (the runtime always has a
// GetOOMEvent waiting) do not hold it off: only completions count as activity.
// Measured in bench/ ("RSS growth over 10 000 lifecycles"); see docs/PERFORMANCE.md.

export interface IdleCollectorOptions {
  /** Quiet time after the last completed call before collecting. */
  delayMs?: number;
  /** What a collection is (tests pass a counter); defaults to a synchronous full GC. */
  collect?: () => void;
}

export class IdleCollector {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private activity = 0;
  private readonly delayMs: number;
  private readonly collect: () => void;
  /** Number of collections run so far (for logs and tests). */
  collections = 0;

  constructor(o: IdleCollectorOptions = {}) {
    this.delayMs = o.delayMs ?? 500;
    this.collect = o.collect ?? (() => Bun.gc(true));
  }

  /** A call finished: (re)start the quiet-time clock. */
  callDone(): void {
    this.activity++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), this.delayMs);
    // Never keep the process alive just to collect.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    this.timer = undefined;
    if (this.activity === 0) return;
    this.activity = 0;
    this.collections++;
    this.collect();
  }
}
