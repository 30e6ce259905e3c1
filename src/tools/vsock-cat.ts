// `kata-agent vsock-cat CID PORT [--timeout MS]`: a minimal vsock client for guests that have no
// socat — stdin goes to the connection, the connection to stdout. Used by the VM test to reach
// the debug-console and log ports over vsock loopback (CID 1).
import type { Socket } from "bun";
import { vsockConnect } from "../sys/socket.ts";

export async function vsockCatMain(args: string[]): Promise<number> {
  const [cidArg, portArg] = args;
  const ti = args.indexOf("--timeout");
  const timeoutMs = ti >= 0 ? Number(args[ti + 1]) : 0;
  const cid = Number(cidArg), port = Number(portArg);
  if (!Number.isInteger(cid) || !Number.isInteger(port) || cid < 0 || port <= 0) {
    process.stderr.write("usage: kata-agent vsock-cat CID PORT [--timeout MS]\n");
    return 2;
  }
  let fd: number;
  try {
    fd = await vsockConnect(cid, port, 5000);
  } catch (e) {
    process.stderr.write(`vsock-cat: ${(e as Error).message}\n`);
    return 1;
  }
  let done!: (code: number) => void;
  const finished = new Promise<number>((r) => (done = r));
  const sock = await (Bun.connect as (o: unknown) => Promise<Socket<undefined>>)({
    fd,
    socket: {
      data(_s: Socket<undefined>, chunk: Buffer) {
        process.stdout.write(chunk);
      },
      close() {
        done(0);
      },
      error() {
        done(1);
      },
    },
  });
  if (timeoutMs > 0) setTimeout(() => { sock.end(); done(0); }, timeoutMs).unref();
  void (async () => {
    for await (const chunk of Bun.stdin.stream()) sock.write(chunk);
    // Keep reading after stdin ends: the peer decides when the conversation is over.
  })();
  const code = await finished;
  return code;
}
