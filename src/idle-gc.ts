// Memory tidying once the agent goes quiet after a burst of work.
//
// JavaScriptCore collects when its heap grows past a limit it raises as the heap grows, so after a
// burst of RPCs (a pod starting ten containers) garbage can sit in the heap, and in the native
// buffers its objects own, until the next burst. A guest VM's memory is the pod's memory, so the
// agent tidies up in two steps:
//   - `delayMs` after the last completed call: a full garbage collection (a few ms; compiled code
//     is kept, so the next burst runs at full speed);
//   - `shrinkDelayMs` after it, still quiet: also drop JIT code and caches (Bun.shrink), which the
//     next burst rebuilds. That costs the next burst some speed, so it waits for a real pause.
// Each step runs only if a call completed since that step last ran. Long-polling calls that stay
// in flight (the runtime always has a GetOOMEvent waiting) do not hold it off: only completions
// count as activity. Measured in bench/ (growth rows); see docs/PERFORMANCE.md.

export interface IdleCollectorOptions {
  /** Quiet time after the last completed call before the full GC. */
  delayMs?: number;
  /** Quiet time after the last completed call before shrinking. */
  shrinkDelayMs?: number;
  /** The full GC (tests pass a counter); defaults to a synchronous full collection. */
  collect?: () => void;
  /** The deeper step; defaults to a full collection plus Bun.shrink(). */
  shrink?: () => void;
}

/**
 * Runs `action` once `delayMs` passed without touch(), if touch() was called since the last run.
 * touch() is on every call's path, so it only notes the time: the one pending timer, when it
 * fires early, re-arms itself for the rest of the quiet period (no clearTimeout/setTimeout pair
 * per call).
 */
class QuietTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private activity = 0;
  private lastTouch = 0;
  runs = 0;

  constructor(private readonly delayMs: number, private readonly action: () => void) {}

  touch(now: number): void {
    this.activity++;
    this.lastTouch = now;
    if (!this.timer) this.arm(this.delayMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.activity = 0;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), ms);
    // Never keep the process alive just to tidy up.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const quietFor = performance.now() - this.lastTouch;
    if (quietFor < this.delayMs) {
      this.arm(this.delayMs - quietFor);
      return;
    }
    if (this.activity === 0) return;
    this.activity = 0;
    this.runs++;
    this.action();
  }
}

export class IdleCollector {
  private readonly gc: QuietTimer;
  private readonly deep: QuietTimer;

  constructor(o: IdleCollectorOptions = {}) {
    this.gc = new QuietTimer(o.delayMs ?? 500, o.collect ?? (() => Bun.gc(true)));
    this.deep = new QuietTimer(o.shrinkDelayMs ?? 10_000, o.shrink ?? (() => (Bun.gc(true), Bun.shrink())));
  }

  /** Number of full collections run so far. */
  get collections(): number {
    return this.gc.runs;
  }

  /** Number of shrinks run so far. */
  get shrinks(): number {
    return this.deep.runs;
  }

  /** A call finished: (re)start both quiet-time clocks. */
  callDone(): void {
    const now = performance.now();
    this.gc.touch(now);
    this.deep.touch(now);
  }

  stop(): void {
    this.gc.stop();
    this.deep.stop();
  }
}
