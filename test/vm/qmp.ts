// A minimal QMP client for hot-plug steps: one JSON object per line each way; every command
// waits for its {"return"} or {"error"} (events in between are skipped).
import type { Socket } from "bun";

export class Qmp {
  private buf = "";
  private sock: Socket<undefined> | undefined;
  private waiting: ((msg: Record<string, unknown>) => void)[] = [];
  private greeted!: () => void;
  private readonly greeting = new Promise<void>((r) => (this.greeted = r));

  /** Connects (retrying until QEMU has made the socket) and leaves capabilities negotiation done. */
  static async connect(path: string, timeoutMs = 20_000): Promise<Qmp> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const q = new Qmp();
      try {
        q.sock = await Bun.connect({ unix: path, socket: { data: (_s, data) => q.onData(new TextDecoder().decode(data)) } });
      } catch (e) {
        if (Date.now() > end) throw e;
        await Bun.sleep(100);
        continue;
      }
      await q.greeting;
      await q.run("qmp_capabilities");
      return q;
    }
  }

  private onData(text: string): void {
    this.buf += text;
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg.QMP) this.greeted();
      else if (!msg.event) this.waiting.shift()?.(msg);
    }
  }

  /** Runs one command; throws with QEMU's error text. */
  async run(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    const reply = new Promise<Record<string, unknown>>((resolve) => this.waiting.push(resolve));
    this.sock!.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + "\n");
    const msg = await reply;
    if (msg.error) throw new Error(`QMP ${execute}: ${JSON.stringify(msg.error)}`);
    return msg.return;
  }

  close(): void {
    this.sock?.end();
  }
}
