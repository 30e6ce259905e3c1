// Listening and connecting on every address kind: abstract unix, several listeners at once, TCP,
// vsock (bind only: this host has no vsock loopback), hybrid vsock handshake, and server close().
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { Logger } from "../../src/log/logger.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { TtrpcServer } from "../../src/ttrpc/server.ts";
import { Code, RpcError } from "../../src/ttrpc/status.ts";
import { missing } from "../helpers/require.ts";

const quiet = Logger.create();
quiet.setSink(() => {});
const text = (b: Uint8Array) => Buffer.from(b).toString();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ttrpc-tr-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function echoServer(): TtrpcServer {
  const s = new TtrpcServer({ log: quiet });
  s.register("test.Echo", { Echo: (p) => p, Slow: async (p) => { await Bun.sleep(5000); return p; } });
  cleanups.push(() => s.close());
  return s;
}

async function connect(address: string, opts?: Parameters<typeof TtrpcClient.connect>[1]): Promise<TtrpcClient> {
  const c = await TtrpcClient.connect(address, opts);
  cleanups.push(() => c.close());
  return c;
}

async function echo(c: TtrpcClient, s: string): Promise<string> {
  return text(await c.call("test.Echo", "Echo", Buffer.from(s)));
}

test("abstract unix socket: served without a file, visible as @name", async () => {
  const name = `ttrpc-test-${process.pid}-${Date.now()}`;
  const s = echoServer();
  await s.listen(`unix://@${name}`);
  expect(s.addresses).toEqual([`unix://@${name}`]);
  expect(readFileSync("/proc/net/unix", "utf8").split("\n").some((l) => l.endsWith(` @${name}`))).toBe(true);
  const c = await connect(`unix://@${name}`);
  expect(await echo(c, "abstract")).toBe("abstract");
});

test("one server on several addresses at once (unix file, abstract, tcp)", async () => {
  const dir = tempDir();
  const s = echoServer();
  await s.listen(`unix://${join(dir, "a.sock")}`);
  await s.listen(`unix://@ttrpc-multi-${process.pid}`);
  await s.listen("tcp://127.0.0.1:0");
  const tcp = s.addresses[2]!;
  expect(tcp).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
  expect(tcp).not.toBe("tcp://127.0.0.1:0");
  for (const a of s.addresses) expect(await echo(await connect(a), a)).toBe(a);
});

test("a stale socket file is replaced; a regular file in the way is an error naming the address", async () => {
  const dir = tempDir();
  const path = join(dir, "agent.sock");
  // A crashed agent leaves its socket file behind (Bun only unlinks on a clean stop): SIGKILL a
  // process that listens there.
  const crashed = Bun.spawn([process.execPath, "-e",
    `Bun.listen({ unix: ${JSON.stringify(path)}, socket: { data() {} } }); console.log("up"); setInterval(() => {}, 1000);`],
    { stdout: "pipe" });
  cleanups.push(() => crashed.kill(9));
  await crashed.stdout.getReader().read(); // "up"
  crashed.kill(9);
  await crashed.exited;
  expect(existsSync(path)).toBe(true);
  await expect(Bun.connect({ unix: path, socket: { data() {} } })).rejects.toThrow(); // nobody there
  const s = echoServer();
  await s.listen(`unix://${path}`);
  expect(await echo(await connect(`unix://${path}`), "fresh")).toBe("fresh");
  await s.close();
  expect(existsSync(path)).toBe(false); // close() removes the socket file

  const blocked = join(dir, "plain-file");
  writeFileSync(blocked, "not a socket");
  const s2 = echoServer();
  await expect(s2.listen(`unix://${blocked}`)).rejects.toThrow(blocked);
});

test("bad addresses are refused before anything is bound", async () => {
  const s = echoServer();
  await expect(s.listen("unix://relative.sock")).rejects.toThrow("absolute path");
  await expect(TtrpcClient.connect("vsock://x:1")).rejects.toThrow("not a number");
});

test("connecting to nothing fails with UNAVAILABLE naming the address", async () => {
  const dir = tempDir();
  const e = await TtrpcClient.connect(`unix://${join(dir, "none.sock")}`).catch((x) => x);
  expect(e).toBeInstanceOf(RpcError);
  expect(e.code).toBe(Code.UNAVAILABLE);
  expect(e.message).toContain("none.sock");
});

const hasVsock = existsSync("/dev/vsock");

test.skipIf(missing({ "/dev/vsock (vsock module)": hasVsock }))("vsock: listener binds on CID any; a second bind of the port fails with EADDRINUSE", async () => {
  const port = 20000 + (process.pid % 20000);
  const s = echoServer();
  await s.listen(`vsock://-1:${port}`);
  expect(s.addresses).toEqual([`vsock://-1:${port}`]);
  const other = echoServer();
  await expect(other.listen(`vsock://-1:${port}`)).rejects.toThrow(`bind vsock://-1:${port}: EADDRINUSE`);
  // After close() the port is free again (Bun closed the adopted fd).
  await s.close();
  await other.listen(`vsock://-1:${port}`);
});

test.skipIf(missing({ "/dev/vsock (vsock module)": hasVsock }))("vsock client: an unreachable peer fails within the timeout (no host loopback)", async () => {
  const t0 = performance.now();
  // CID 1 (local loopback) exists only with vsock_loopback loaded: ECONNRESET/ENODEV or a timeout.
  const e = await TtrpcClient.connect("vsock://1:1", { timeoutMs: 300 }).catch((x) => x);
  expect(e).toBeInstanceOf(RpcError);
  expect([Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED]).toContain(e.code);
  expect(e.message).toContain("vsock://1:1");
  expect(performance.now() - t0).toBeLessThan(2000);
});

/**
 * A stand-in for the VMM's hybrid vsock unix socket: expects "CONNECT <port>\n", answers `reply`,
 * then relays bytes to the real server.
 */
function hybridProxy(path: string, target: string, reply: (port: string) => string, seen: string[]) {
  type State = { line: string; upstream?: Socket<undefined>; early: Uint8Array[] };
  const proxy = Bun.listen<State>({
    unix: path,
    socket: {
      open(s) { s.data = { line: "", early: [] }; },
      async data(s, chunk) {
        const st = s.data;
        if (st.upstream) { st.upstream.write(chunk); return; }
        const all = st.line + chunk.toString("latin1");
        const nl = all.indexOf("\n");
        if (nl < 0) { st.line = all; return; }
        st.line = all.slice(0, nl);
        seen.push(st.line);
        const m = /^CONNECT (\d+)$/.exec(st.line);
        const answer = reply(m ? m[1]! : "");
        if (!answer.startsWith("OK")) { s.write(answer); s.end(); return; }
        const upstream = await Bun.connect({ unix: target, socket: { data(_u, d) { s.write(d); }, close() { s.end(); } } });
        st.upstream = upstream;
        s.write(answer);
        if (nl + 1 < all.length) upstream.write(Buffer.from(all.slice(nl + 1), "latin1"));
      },
      close(s) { s.data.upstream?.end(); },
    },
  });
  cleanups.push(() => proxy.stop(true));
}

test("hybrid vsock: CONNECT <port> handshake, then ttRPC", async () => {
  const dir = tempDir();
  const s = echoServer();
  const real = join(dir, "real.sock");
  await s.listen(`unix://${real}`);
  const seen: string[] = [];
  hybridProxy(join(dir, "hvsock"), real, () => "OK 1073741824\n", seen);
  const c = await connect(`unix://${join(dir, "hvsock")}`, { hybridVsockPort: 1024 });
  expect(seen).toEqual(["CONNECT 1024"]);
  expect(await echo(c, "through the hybrid socket")).toBe("through the hybrid socket");
});

test("hybrid vsock: a refused CONNECT fails the connect with the reply in the message", async () => {
  const dir = tempDir();
  hybridProxy(join(dir, "hvsock"), "/nonexistent", () => "ERR no listener\n", []);
  const e = await TtrpcClient.connect(`unix://${join(dir, "hvsock")}`, { hybridVsockPort: 9, timeoutMs: 2000 }).catch((x) => x);
  expect(e).toBeInstanceOf(RpcError);
  expect(e.message).toContain("ERR no listener");
});

test("hybrid vsock: no reply within timeoutMs → DEADLINE_EXCEEDED", async () => {
  const dir = tempDir();
  const mute = Bun.listen({ unix: join(dir, "mute"), socket: { data() {} } });
  cleanups.push(() => mute.stop(true));
  const e = await TtrpcClient.connect(`unix://${join(dir, "mute")}`, { hybridVsockPort: 9, timeoutMs: 200 }).catch((x) => x);
  expect(e).toBeInstanceOf(RpcError);
  expect(e.code).toBe(Code.DEADLINE_EXCEEDED);
});

test("server close(): stops accepting, ends connections, in-flight calls fail UNAVAILABLE", async () => {
  const dir = tempDir();
  const path = join(dir, "c.sock");
  const s = echoServer();
  await s.listen(`unix://${path}`);
  const c = await connect(`unix://${path}`);
  const inflight = c.call("test.Echo", "Slow", Buffer.from("x"));
  await Bun.sleep(10);
  const t0 = performance.now();
  await s.close();
  expect(performance.now() - t0).toBeLessThan(1500);
  expect(s.connectionCount).toBe(0);
  const e = await inflight.catch((x) => x);
  expect(e).toBeInstanceOf(RpcError);
  expect(e.code).toBe(Code.UNAVAILABLE);
  expect(c.closed).toBe(true);
  await expect(TtrpcClient.connect(`unix://${path}`)).rejects.toThrow(RpcError);
});

test("answer then close (DestroySandbox): a large answer is flushed before the connection ends", async () => {
  const dir = tempDir();
  const path = join(dir, "d.sock");
  const s = new TtrpcServer({ log: quiet });
  cleanups.push(() => s.close());
  const reply = Buffer.alloc((4 << 20) - 64, 0x33);
  s.register("test.Sandbox", {
    Destroy: () => {
      setTimeout(() => void s.close());
      return reply;
    },
  });
  await s.listen(`unix://${path}`);
  const c = await connect(`unix://${path}`);
  const got = await c.call("test.Sandbox", "Destroy", new Uint8Array(0));
  expect(got.length).toBe(reply.length);
  expect(Buffer.compare(Buffer.from(got), reply)).toBe(0);
  await Bun.sleep(50);
  expect(c.closed).toBe(true);
  expect(s.connectionCount).toBe(0);
});
