// Pseudo-terminals for Process.Terminal. The master stays in the agent (read it with
// Bun.file(fd).stream() after setNonBlocking: a blocking master gives ESPIPE; a closed slave reads
// as EIO, which means EOF); the slave becomes the container process's 0/1/2 and its controlling tty.
import { C, check, ptr } from "./libc.ts";

const F_SETFD = 2;
const FD_CLOEXEC = 1;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;

const pair = new Int32Array(new ArrayBuffer(8));
// struct winsize { u16 ws_row, ws_col, ws_xpixel, ws_ypixel }
const winsize = new Uint16Array(new ArrayBuffer(8));

export interface Pty {
  master: number;
  slave: number;
}

/** openpty(3), both ends close-on-exec (the launcher dup2s the slave into the child). */
export function openPty(): Pty {
  check("openpty", C.openpty(ptr(pair), ptr(pair, 4), null, null, null));
  const master = pair[0]!;
  const slave = pair[1]!;
  try {
    check(`fcntl(${master}, F_SETFD)`, C.fcntl(master, F_SETFD, FD_CLOEXEC));
    check(`fcntl(${slave}, F_SETFD)`, C.fcntl(slave, F_SETFD, FD_CLOEXEC));
  } catch (e) {
    C.close(master);
    C.close(slave);
    throw e;
  }
  return { master, slave };
}

/** TIOCSWINSZ on the master (the kernel sends SIGWINCH to the foreground process group). */
export function setWinSize(fd: number, rows: number, cols: number): void {
  winsize[0] = rows;
  winsize[1] = cols;
  winsize[2] = 0;
  winsize[3] = 0;
  check(`ioctl(${fd}, TIOCSWINSZ)`, C.ioctl(fd, TIOCSWINSZ, ptr(winsize)));
}

export function getWinSize(fd: number): { rows: number; cols: number } {
  check(`ioctl(${fd}, TIOCGWINSZ)`, C.ioctl(fd, TIOCGWINSZ, ptr(winsize)));
  return { rows: winsize[0]!, cols: winsize[1]! };
}
