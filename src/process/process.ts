// A process the agent started in a container (the init or an ExecProcess), with its stdio and
// exit status. Kata semantics:
//  - WaitProcess answers the exit code (or 128+signal) to every waiter;
//  - output written before the exit is still delivered after it: the streams are read until EOF
//    (the container's copies of the write ends close when its last process holding them exits).
//    If a background process keeps a pipe open, we stop waiting 500 ms after the exit, as Kata
//    does, once everything the pipe held has been read.
import { exitCode, onExit } from "../sys/reaper.ts";
import { setWinSize } from "../sys/pty.ts";
import { unavailable } from "../errors.ts";
import type { ProcessStdio } from "./stdio.ts";

/** How long output may keep flowing after the process exited (Kata waits 500 ms). */
const DRAIN_AFTER_EXIT_MS = 500;
/** How long a waited-for process stays readable for a late ReadStdout. */
const KEEP_AFTER_WAIT_MS = 10_000;

export class ContainerProcess {
  exitStatus: number | undefined;
  readonly exited: Promise<number>;
  /** Set when WaitProcess returned: the entry is removed once its output was read or soon after. */
  waited = false;

  constructor(
    readonly execId: string,
    readonly pid: number,
    readonly stdio: ProcessStdio,
    private readonly onGone: (p: ContainerProcess) => void = () => {},
  ) {
    this.exited = onExit(pid).then((st) => {
      this.exitStatus = exitCode(st);
      setTimeout(() => this.cutOutput(), DRAIN_AFTER_EXIT_MS).unref();
      return this.exitStatus;
    });
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** ReadStdout/ReadStderr; `signal` = the call was abandoned (see OutputStream.read). */
  async read(which: "stdout" | "stderr", len: number, signal?: AbortSignal): Promise<Uint8Array[]> {
    const s = which === "stdout" ? this.stdio.stdout : this.stdio.stderr;
    // With a terminal there is no separate stderr: report EOF at once, like Kata.
    if (!s) return [];
    const data = await s.readChunks(len, signal);
    if (this.waited && this.outputDrained()) this.onGone(this);
    return data;
  }

  writeStdin(data: Uint8Array): Promise<number> {
    return this.stdio.stdin.write(data);
  }

  closeStdin(): Promise<void> {
    return this.stdio.stdin.close();
  }

  resizeTty(rows: number, cols: number): void {
    if (this.stdio.ptyMaster === undefined) throw unavailable(`process ${this.execId} has no terminal`);
    setWinSize(this.stdio.ptyMaster, rows, cols);
  }

  /** WaitProcess: the exit code; afterwards the entry goes away once nobody needs its output. */
  async wait(): Promise<number> {
    const code = await this.exited;
    if (!this.waited) {
      this.waited = true;
      void this.stdio.stdin.close();
      if (this.outputDrained()) this.onGone(this);
      else setTimeout(() => this.release(), KEEP_AFTER_WAIT_MS).unref();
    }
    return code;
  }

  /** Close everything (RemoveContainer, or the grace period after WaitProcess ran out). */
  release(): void {
    void this.stdio.stdin.close();
    this.stdio.stdout.close();
    this.stdio.stderr?.close();
    this.stdio.closeChildEnds();
    this.onGone(this);
  }

  private outputDrained(): boolean {
    return this.stdio.stdout.drained && (this.stdio.stderr?.drained ?? true);
  }

  /** After the exit + grace: whatever was already read stays readable, then EOF. */
  private cutOutput(): void {
    this.stdio.stdout.closeWhenIdle();
    this.stdio.stderr?.closeWhenIdle();
  }
}
