// The debug console (agent.debug_console): a shell for whoever debugs the guest.
//  - with agent.debug_console_vport=N, every vsock connection on N gets its own shell on a new
//    pty, bridged both ways; the shell is killed when the connection goes;
//  - otherwise one shell on /dev/console, started again when it exits.
// Shells are started by the launcher (no fork from JavaScript): /bin/bash if present, else /bin/sh.
import { existsSync } from "node:fs";
import type { Socket } from "bun";
import type { Logger } from "../log/logger.ts";
import { hostProcessPlan, type LaunchPlan } from "../sys/launch-plan.ts";
import { spawn } from "../sys/launcher.ts";
import { onExit } from "../sys/reaper.ts";
import { openPty } from "../sys/pty.ts";
import { closeFd, setNonBlocking } from "../sys/pipe.ts";
import { killQuietly, openForChild } from "../sys/proc.ts";
import { SIGKILL } from "../sys/consts.ts";
import { VMADDR_CID_ANY, vsockListen } from "../sys/socket.ts";

const SHELLS = ["/bin/bash", "/bin/sh"];

export function shellPath(): string {
  const s = SHELLS.find((p) => existsSync(p));
  if (!s) throw new Error(`no shell found (${SHELLS.join(", ")})`);
  return s;
}

function shellPlan(shell: string, tty: number): LaunchPlan {
  return hostProcessPlan({
    exe: shell, args: [shell, "-i"], terminal: true, stdio: [tty, tty, tty],
    env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=vt100", "HOME=/root"],
  });
}

export function startDebugConsole(vport: number, log: Logger): void {
  const shell = shellPath();
  if (vport > 0) listenVport(vport, shell, log);
  else consoleLoop(shell, log);
}

function consoleLoop(shell: string, log: Logger): void {
  const run = (): void => {
    let fd: number;
    try {
      fd = openForChild("/dev/console", { noCtty: true });
    } catch (e) {
      log.error("debug console: cannot open /dev/console", { error: (e as Error).message });
      return;
    }
    let pid: number;
    try {
      pid = spawn(shellPlan(shell, fd));
    } catch (e) {
      log.error("debug console: shell did not start", { error: (e as Error).message });
      return;
    } finally {
      closeFd(fd);
    }
    log.info("debug console started", { shell, shell_pid: pid });
    void onExit(pid).then(() => setTimeout(run, 500));
  };
  run();
}

interface Session {
  pid: number;
  master: number;
  writer: ReturnType<ReturnType<typeof Bun.file>["writer"]>;
}

function listenVport(port: number, shell: string, log: Logger): void {
  const fd = vsockListen(VMADDR_CID_ANY, port);
  Bun.listen<Session | undefined>({
    fd,
    socket: {
      open(s: Socket<Session | undefined>) {
        const { master, slave } = openPty();
        let pid: number;
        try {
          pid = spawn(shellPlan(shell, slave));
        } catch (e) {
          log.error("debug console: shell did not start", { error: (e as Error).message });
          closeFd(master);
          s.end();
          return;
        } finally {
          closeFd(slave);
        }
        // Bun's FileSink clears O_NONBLOCK on a terminal, and a blocking master makes the read
        // stream below fail at once (ESPIPE): create the sink first, then set non-blocking.
        // (Seen in the VM: the connection closed without a byte of the shell's output.)
        const writer = Bun.file(master).writer();
        setNonBlocking(master);
        const session: Session = { pid, master, writer };
        s.data = session;
        log.info("debug console connection", { shell_pid: pid });
        // pty → connection; EIO on the master means the shell (and its session) is gone.
        const pump = (async () => {
          try {
            for await (const chunk of Bun.file(master).stream()) s.write(chunk);
          } catch {
            // EIO: the slave side closed
          }
        })();
        void pump.then(() => s.end());
        // The shell's last words ("exit" right after a command) may still be in the pty when it
        // is reaped: let the pump drain them, but do not wait on a background job holding the tty.
        void onExit(pid).then(() => Promise.race([pump, Bun.sleep(1000)])).then(() => s.end());
      },
      data(s: Socket<Session | undefined>, chunk: Buffer) {
        const w = s.data?.writer;
        if (w) {
          w.write(chunk);
          void w.flush();
        }
      },
      close(s: Socket<Session | undefined>) {
        const sess = s.data;
        if (!sess) return;
        s.data = undefined;
        killQuietly(-sess.pid, SIGKILL); // the shell leads its own session and process group
        killQuietly(sess.pid, SIGKILL);
        void onExit(sess.pid).then(() => closeFd(sess.master));
      },
      error() {},
    },
  } as never);
  log.info("debug console listening", { port });
}
