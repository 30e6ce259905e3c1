// agent.log_vport: the logs go to the first host connection on that vsock port. Lines logged
// before the host connects are kept in a bounded buffer (oldest dropped first, with a count of
// what was dropped) and sent as soon as it does.
import type { Socket } from "bun";
import type { Logger } from "../log/logger.ts";
import { VMADDR_CID_ANY, vsockListen } from "../sys/socket.ts";

const BUFFER_LIMIT = 4 << 20;

export class LogBuffer {
  private lines: string[] = [];
  private bytes = 0;
  dropped = 0;

  constructor(private readonly limit = BUFFER_LIMIT) {}

  push(line: string): void {
    this.lines.push(line);
    this.bytes += line.length;
    while (this.bytes > this.limit && this.lines.length > 1) {
      this.bytes -= this.lines.shift()!.length;
      this.dropped++;
    }
  }

  drain(): string[] {
    const l = this.lines;
    this.lines = [];
    this.bytes = 0;
    return l;
  }
}

/** `early` holds what was logged before the configuration was known (PID 1 buffers from its start). */
export function startLogPort(port: number, log: Logger, ilog: Logger, early = new LogBuffer()): void {
  const buffer = early;
  let peer: Socket<undefined> | undefined;
  log.setSink((line) => {
    if (peer) peer.write(line);
    else buffer.push(line);
  });
  const fd = vsockListen(VMADDR_CID_ANY, port);
  Bun.listen<undefined>({
    fd,
    socket: {
      open(s: Socket<undefined>) {
        if (peer) {
          s.end(); // one log reader at a time, like Kata
          return;
        }
        peer = s;
        if (buffer.dropped > 0) {
          s.write(JSON.stringify({ level: "WARN", msg: "log lines dropped before the host connected", dropped: buffer.dropped }) + "\n");
          buffer.dropped = 0;
        }
        for (const l of buffer.drain()) s.write(l);
      },
      close(s: Socket<undefined>) {
        if (peer === s) peer = undefined;
      },
      data() {},
      error(s: Socket<undefined>) {
        if (peer === s) peer = undefined;
      },
    },
  } as never);
  ilog.info("logs go to the vsock port", { port });
}
