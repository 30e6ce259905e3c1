// Readiness of many fds through one thread: src/sys/native/readiness.c (libreadiness.so, embedded
// like libuevent.so) waits on an epoll set and writes the token of each ready fd into a pipe that
// one Bun stream reads. A watch is one-shot: after its callback ran, it stays quiet until rearm().
// The callback learns whether the fd hung up (EPOLLHUP/EPOLLERR: every writer is gone), so a
// reader can tell end of file from "nothing yet" without a read(2) that could block.
// Container output uses it instead of a Bun stream per fd (docs/PERFORMANCE.md: a stream costs
// ~9 KiB of memory for as long as its fd is open). Started on first use.
import { FFIType } from "bun:ffi";
import { dlopenEmbedded } from "./embedded-lib.ts";
import soPath from "../../build/native/libreadiness.so" with { type: "file" };
import { C } from "./libc.ts";
import { SysError } from "./errno.ts";
import { closeFd, pipe, readSome, setNonBlocking } from "./pipe.ts";

const RD_VERSION = 1;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const ENOENT = 2;
const HANGUP_BIT = 0x80000000;
const EBADF = 9;

function loadLibrary() {
  const lib = dlopenEmbedded(soPath, "libreadiness.so", {
    rd_version: { args: [], returns: FFIType.i32 },
    rd_start: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    rd_ctl: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  });
  const v = lib.symbols.rd_version();
  if (v !== RD_VERSION) throw new Error(`libreadiness.so has version ${v}, expected ${RD_VERSION}: rebuild it`);
  return lib.symbols;
}

export interface Watch {
  /** Report the fd once more when it is (or becomes) readable. */
  rearm(): void;
  /** Stop watching; a report already on its way is dropped. Call before closing the fd. */
  cancel(): void;
}

export class ReadinessHub {
  private readonly callbacks = new Map<number, (hangup: boolean) => void>();
  private nextToken = 1;
  private stopped = false;

  private constructor(
    private readonly lib: ReturnType<typeof loadLibrary>,
    private readonly ep: number,
    private readonly stopW: number,
    notifyR: number,
  ) {
    void this.dispatch(Bun.file(notifyR).stream()).finally(() => {
      // The thread ended (stop(), or epoll failed): later streams get a new hub.
      this.stopped = true;
      if (hub === this) hub = undefined;
    });
  }

  static start(): ReadinessHub {
    const lib = loadLibrary();
    const [notifyR, notifyW] = pipe();
    const [stopR, stopW] = pipe();
    const ep = lib.rd_start(notifyW, stopR);
    if (ep < 0) {
      [notifyR, notifyW, stopR, stopW].forEach((fd) => C.close(fd));
      throw new SysError("readiness thread (epoll)", -ep);
    }
    // The thread owns notifyW and stopR now.
    setNonBlocking(notifyR);
    return new ReadinessHub(lib, ep, stopW, notifyR);
  }

  /** Number of fds watched now (tests, leak checks). */
  get size(): number {
    return this.callbacks.size;
  }

  /** Watches `fd` (armed at once); `onReady` runs on the JS thread, once per arm. */
  watch(fd: number, onReady: (hangup: boolean) => void): Watch {
    if (this.stopped) throw new Error("readiness hub is stopped");
    const token = this.allocToken();
    const rc = this.lib.rd_ctl(this.ep, EPOLL_CTL_ADD, fd, token);
    if (rc < 0) throw new SysError(`epoll_ctl(ADD, ${fd})`, -rc);
    this.callbacks.set(token, onReady);
    let live = true;
    return {
      rearm: () => {
        if (!live) return;
        const r = this.lib.rd_ctl(this.ep, EPOLL_CTL_MOD, fd, token);
        if (r < 0) throw new SysError(`epoll_ctl(MOD, ${fd})`, -r);
      },
      cancel: () => {
        if (!live) return;
        live = false;
        this.callbacks.delete(token);
        const r = this.stopped ? 0 : this.lib.rd_ctl(this.ep, EPOLL_CTL_DEL, fd, token);
        // ENOENT/EBADF: the fd is gone already, and with it the registration.
        if (r < 0 && -r !== ENOENT && -r !== EBADF) throw new SysError(`epoll_ctl(DEL, ${fd})`, -r);
      },
    };
  }

  /** Ends the thread (tests): it closes the epoll set and its pipe ends. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.callbacks.clear();
    closeFd(this.stopW);
  }

  private allocToken(): number {
    // Tokens are 31-bit (the top bit is the thread's hang-up flag) and never 0 (its stop token);
    // skip any still in use after a wrap.
    for (;;) {
      const t = this.nextToken;
      this.nextToken = t >= HANGUP_BIT - 1 ? 1 : t + 1;
      if (!this.callbacks.has(t)) return t;
    }
  }

  private async dispatch(stream: ReadableStream<Uint8Array>): Promise<void> {
    let carry = new Uint8Array(0);
    for await (const chunk of stream) {
      let buf = chunk;
      if (carry.length > 0) {
        buf = new Uint8Array(carry.length + chunk.length);
        buf.set(carry);
        buf.set(chunk, carry.length);
      }
      const whole = buf.length - (buf.length % 4);
      const view = new DataView(buf.buffer, buf.byteOffset, whole);
      for (let off = 0; off < whole; off += 4) {
        const word = view.getUint32(off, true);
        const cb = this.callbacks.get(word & ~HANGUP_BIT);
        if (!cb) continue; // cancelled while its report was in the pipe
        try {
          cb(word >= HANGUP_BIT);
        } catch {
          // A callback's failure is its own (it ends its stream); it must not stop the others.
        }
      }
      carry = buf.slice(whole);
    }
  }
}

let hub: ReadinessHub | undefined;

/** The agent's one hub, started on first use. */
export function readinessHub(): ReadinessHub {
  hub ??= ReadinessHub.start();
  return hub;
}

/**
 * Reads a non-blocking fd until end of file, at most `limit` bytes (more is an error: the writer
 * is not who it should be), without a Bun stream: one readiness report per burst, no buffers
 * beyond the result. For short control pipes (the container init's status pipe).
 */
export function readToEnd(fd: number, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const buf = new Uint8Array(new ArrayBuffer(limit + 1));
    let got = 0;
    let watch: Watch | undefined;
    const onReady = () => {
      try {
        for (;;) {
          const n = readSome(fd, buf.subarray(got));
          if (n === -1) return watch!.rearm();
          got += n;
          if (got > limit) throw new Error(`fd ${fd}: more than ${limit} bytes`);
          if (n === 0) break;
        }
      } catch (e) {
        watch!.cancel();
        return reject(e);
      }
      watch!.cancel();
      resolve(buf.slice(0, got));
    };
    watch = readinessHub().watch(fd, onReady);
  });
}
