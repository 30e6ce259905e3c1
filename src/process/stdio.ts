// Sets up a container process's stdio the way Kata does: three pipes (stdout/stderr sized with
// container_pipe_size via F_SETPIPE_SZ), or one pty when Process.Terminal is set (stdout and
// stdin both go through the master; stderr is merged into it by the terminal).
import { closeFd, pipe, setNonBlocking, setPipeSize } from "../sys/pipe.ts";
import { openPty, setWinSize } from "../sys/pty.ts";
import { dupFd } from "../sys/fd.ts";
import { InputStream } from "./input.ts";
import { OutputStream } from "./output.ts";

export interface ProcessStdio {
  /** The child's 0, 1, 2 (agent-side copies; close with closeChildEnds() once the child has them). */
  childFds: [number, number, number];
  stdin: InputStream;
  stdout: OutputStream;
  /** Absent with a terminal: the pty merges stderr into stdout. */
  stderr?: OutputStream;
  /** The pty master, for TtyWinResize; absent without a terminal. */
  ptyMaster?: number;
  closeChildEnds(): void;
  /** Closes every end, the agent's too: for a process that never started. */
  discard(): void;
}

/** What of an OCI Process decides its stdio (Terminal, ConsoleSize). */
export interface ProcessTerminal {
  Terminal?: boolean | null;
  ConsoleSize?: { Height?: number | null; Width?: number | null } | null;
}

/** The stdio of a container's init or exec'd process: written once for both. */
export function stdioFor(p: ProcessTerminal, pipeSize: number): ProcessStdio {
  return createStdio({
    terminal: !!p.Terminal,
    pipeSize,
    consoleSize: p.ConsoleSize ? { rows: p.ConsoleSize.Height ?? 0, cols: p.ConsoleSize.Width ?? 0 } : undefined,
  });
}

function withDiscard(s: Omit<ProcessStdio, "discard">): ProcessStdio {
  return {
    ...s,
    discard() {
      s.closeChildEnds();
      s.stdout.close();
      s.stderr?.close();
      void s.stdin.close();
    },
  };
}

export interface StdioOptions {
  terminal: boolean;
  /** agent.container_pipe_size; 0 = kernel default. */
  pipeSize: number;
  consoleSize?: { rows: number; cols: number };
}

export function createStdio(o: StdioOptions): ProcessStdio {
  if (o.terminal) return createPtyStdio(o);
  const opened: number[] = [];
  try {
    const [inR, inW] = pipe(); opened.push(inR, inW);
    const [outR, outW] = pipe(); opened.push(outR, outW);
    const [errR, errW] = pipe(); opened.push(errR, errW);
    if (o.pipeSize > 0) {
      setPipeSize(outW, o.pipeSize);
      setPipeSize(errW, o.pipeSize);
    }
    for (const fd of [inW, outR, errR]) setNonBlocking(fd);
    const childFds: [number, number, number] = [inR, outW, errW];
    return withDiscard({
      childFds,
      stdin: new InputStream(inW),
      stdout: new OutputStream(outR),
      stderr: new OutputStream(errR),
      closeChildEnds: once(() => childFds.forEach(closeFd)),
    });
  } catch (e) {
    opened.forEach(closeFd);
    throw e;
  }
}

function createPtyStdio(o: StdioOptions): ProcessStdio {
  const { master, slave } = openPty();
  let writer = -1;
  try {
    if (o.consoleSize && o.consoleSize.rows > 0) setWinSize(master, o.consoleSize.rows, o.consoleSize.cols);
    // Separate descriptors for reading and writing so CloseStdin can end input while the
    // output side keeps draining.
    writer = dupFd(master);
    // Bun's FileSink clears O_NONBLOCK on a terminal, and the dup shares the open file
    // description with the master: set non-blocking only after the sink exists, or reading the
    // master fails at once with ESPIPE (seen as EOF: a terminal process's output was lost).
    const stdin = new InputStream(writer, true);
    setNonBlocking(master);
    const childFds: [number, number, number] = [slave, slave, slave];
    return withDiscard({
      childFds,
      stdin,
      stdout: new OutputStream(master),
      ptyMaster: master,
      closeChildEnds: once(() => closeFd(slave)),
    });
  } catch (e) {
    closeFd(master);
    closeFd(slave);
    if (writer >= 0) closeFd(writer);
    throw e;
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      f();
    }
  };
}
