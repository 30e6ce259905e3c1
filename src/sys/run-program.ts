// One way to run a helper program of the guest (OCI hooks today; modprobe, iptables-restore,
// swapon, mkfs tomorrow): started by the launcher (never Bun.spawn: the reaper would steal its
// children), stdin fed from memory, stdout/stderr collected up to a cap, a timeout that kills it.
// The result says how it ended; callers decide what is an error.
import { spawn } from "./launcher.ts";
import { closeFd, pipe, setNonBlocking } from "./pipe.ts";
import { exitCode, onExit } from "./reaper.ts";
import { C, cstr } from "./libc.ts";
import { hostProcessPlan } from "./launch-plan.ts";
import { O_CLOEXEC, O_RDWR, SIGKILL } from "./consts.ts";


export interface RunOptions {
  /** Bytes or text written to the program's stdin (then closed). Absent: /dev/null. */
  stdin?: Uint8Array | string;
  /** Kill the program after this long; 0 or absent = no limit. */
  timeoutMs?: number;
  /** Bytes kept of stdout and of stderr each (the rest is read and dropped); default 1 MiB. */
  maxOutput?: number;
  /** Environment (KEY=VALUE); default a minimal PATH. */
  env?: string[];
  /** argv[0]; default exe. */
  argv0?: string;
}

export interface RunResult {
  /** Exit code, or 128 + signal (shell convention). */
  code: number;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Runs exe with args to completion. Throws only when it could not be started (SysError/LaunchError). */
export async function runProgram(exe: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  const cap = o.maxOutput ?? 1 << 20;
  const [outR, outW] = pipe();
  const [errR, errW] = pipe();
  let inR = -1, inW = -1;
  if (o.stdin !== undefined) [inR, inW] = pipe();
  else inR = C.open(cstr("/dev/null"), O_RDWR | O_CLOEXEC, 0);
  let pid: number;
  try {
    pid = spawn(hostProcessPlan({ exe, args: [o.argv0 ?? exe, ...args], env: o.env ?? [DEFAULT_PATH], stdio: [inR, outW, errW] }));
  } catch (e) {
    for (const fd of [outR, errR, inW]) if (fd >= 0) closeFd(fd);
    throw e;
  } finally {
    for (const fd of [outW, errW, inR]) if (fd >= 0) closeFd(fd);
  }
  const exit = onExit(pid);
  if (inW >= 0) void feed(inW, o.stdin!);
  const out = collect(outR, cap);
  const err = collect(errR, cap);
  let timer: Timer | undefined;
  let timedOut = false;
  if (o.timeoutMs && o.timeoutMs > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      // The launcher made the program a session (and process group) leader: its background
      // children die with it instead of lingering past the timeout.
      C.kill(-pid, SIGKILL);
      C.kill(pid, SIGKILL);
    }, o.timeoutMs);
  }
  const st = await exit;
  if (timer) clearTimeout(timer);
  // A grandchild that kept the pipes open must not hold us: stop reading once the program is gone.
  const [stdout, stderr] = await Promise.all([settle(out), settle(err)]);
  return { code: exitCode(st), timedOut, stdout, stderr };
}

/** Writes all of data to fd, then closes it. EPIPE (the program did not read) is not an error. */
async function feed(fd: number, data: Uint8Array | string): Promise<void> {
  try {
    setNonBlocking(fd);
    const w = Bun.file(fd).writer();
    const q = w.write(data);
    if (typeof q !== "number") await q;
    await w.flush();
    await w.end();
  } catch {
    // EPIPE
  } finally {
    closeFd(fd);
  }
}

interface Collector {
  done: Promise<void>;
  text(): string;
  cancel(): void;
}

function collect(fd: number, cap: number): Collector {
  setNonBlocking(fd);
  const chunks: Uint8Array[] = [];
  let kept = 0;
  const stream = Bun.file(fd).stream();
  const reader = stream.getReader();
  const done = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (kept < cap) {
          const part = value.subarray(0, cap - kept);
          chunks.push(part);
          kept += part.length;
        }
      }
    } catch {
      // EIO/EBADF after cancel
    } finally {
      closeFd(fd);
    }
  })();
  return {
    done,
    text: () => Buffer.concat(chunks).toString("utf8"),
    cancel: () => void reader.cancel().catch(() => {}),
  };
}

/** Waits briefly for EOF after the program exited, then gives up on descendants holding the pipe. */
async function settle(c: Collector): Promise<string> {
  let timer: Timer | undefined;
  const late = new Promise<void>((r) => (timer = setTimeout(r, 200)));
  await Promise.race([c.done, late]);
  clearTimeout(timer);
  c.cancel();
  return c.text();
}
