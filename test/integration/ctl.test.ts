// agent-ctl against an in-process ttRPC server with a fake Health service and a few AgentService
// handlers (registered from the generated tables): printed lines, exit codes, repeat, errors,
// interactive input, the container short forms as the server decodes them, ReadAll.
import { messageType } from "../../src/ctl/schema.ts";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { AgentService, HealthService, type ServiceDescriptor } from "../../src/gen/index.ts";
import { ctlMain, PROMPT } from "../../src/ctl/main.ts";
import { Logger } from "../../src/log/logger.ts";
import type { CallContext, Handler } from "../../src/ttrpc/server.ts";
import { TtrpcServer } from "../../src/ttrpc/server.ts";
import { Code, RpcError } from "../../src/ttrpc/status.ts";

const quiet = Logger.create();
quiet.setSink(() => {});

type Impl = (req: any, ctx: CallContext) => unknown;

/** Byte-level handlers for every method of a generated service table; others are UNIMPLEMENTED. */
function handlers(service: ServiceDescriptor, impl: Record<string, Impl>): Record<string, Handler> {
  const out: Record<string, Handler> = {};
  for (const m of Object.values(service.methods)) {
    const f = impl[m.name];
    out[m.name] = async (payload, ctx) => {
      if (!f) throw new RpcError(Code.UNIMPLEMENTED, `${m.name} is not implemented`);
      const res = await f(m.request.decode(payload), ctx);
      const type = messageType(m.responseType);
      return type.encode(type.fromObject((res ?? {}) as object)).finish();
    };
  }
  return out;
}

const seen: Array<{ method: string; req: any }> = [];
let stdoutChunks: string[] = [];
let stderrChunks: string[] = [];

const server = new TtrpcServer({ log: quiet });
const address = `unix://@kata-ctl-test-${process.pid}-${Date.now()}`;

beforeAll(async () => {
  const record = (method: string) => (req: any) => void seen.push({ method, req });
  server.register(HealthService.name, handlers(HealthService, {
    Check: () => ({ status: 1 }),
    Version: () => ({ grpc_version: "0.0.1", agent_version: "9.9.9" }),
  }));
  server.register(AgentService.name, handlers(AgentService, {
    CreateContainer: record("CreateContainer"),
    StartContainer: record("StartContainer"),
    SignalProcess: record("SignalProcess"),
    WaitProcess: (req) => {
      seen.push({ method: "WaitProcess", req });
      if (req.container_id === "gone") throw new RpcError(Code.NOT_FOUND, "container gone not found");
      return { status: 42 };
    },
    WriteStdin: (req) => ({ len: req.data.length }),
    // Two chunks on stdout, one on stderr, then EOF (empty data) for ever.
    ReadStdout: (req) => ({ data: stdoutScript.get(req.container_id)?.shift() ?? new Uint8Array() }),
    ReadStderr: (req) => ({ data: stderrScript.get(req.container_id)?.shift() ?? new Uint8Array() }),
    // A long poll that only ends with the call's deadline.
    GetOOMEvent: (_req, ctx) => new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true })),
  }));
  await server.listen(address);
});

afterAll(async () => {
  await server.close();
});

const stdoutScript = new Map<string, Uint8Array[]>();
const stderrScript = new Map<string, Uint8Array[]>();

beforeEach(() => {
  seen.length = 0;
  stdoutChunks = [];
  stderrChunks = [];
});

const io = {
  stdout: (d: string | Uint8Array) => void stdoutChunks.push(typeof d === "string" ? d : Buffer.from(d).toString()),
  stderr: (d: string | Uint8Array) => void stderrChunks.push(typeof d === "string" ? d : Buffer.from(d).toString()),
};

async function ctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const code = await ctlMain(["connect", "--server-address", address, ...args], io);
  return { code, out: stdoutChunks.join(""), err: stderrChunks.join("") };
}

describe("agent-ctl against a ttRPC server", () => {
  test("Health calls print one JSON line each", async () => {
    const r = await ctl("-c", "Check", "-c", "version");
    expect(r).toEqual({ code: 0, out: 'Check: {"status":"SERVING"}\nVersion: {"grpc_version":"0.0.1","agent_version":"9.9.9"}\n', err: "" });
  });

  test("a failed call: error on stderr, exit 1, the rest of the list is skipped", async () => {
    const r = await ctl("-c", "WaitProcess cid=gone", "-c", "Check");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe("WaitProcess: error: rpc error: code = NOT_FOUND desc = container gone not found\n");
  });

  test("--ignore-errors keeps going and exits 0", async () => {
    const r = await ctl("--ignore-errors", "-c", "WaitProcess cid=gone", "-c", "Check");
    expect(r.code).toBe(0);
    expect(r.out).toBe('Check: {"status":"SERVING"}\n');
    expect(r.err).toContain("code = NOT_FOUND");
  });

  test("an RPC the server lacks is UNIMPLEMENTED", async () => {
    const r = await ctl("-c", "ListRoutes");
    expect(r.code).toBe(1);
    expect(r.err).toBe("ListRoutes: error: rpc error: code = UNIMPLEMENTED desc = ListRoutes is not implemented\n");
  });

  test("repeat runs the next command N times, or the rest of its line", async () => {
    const r = await ctl("-c", "repeat 3", "-c", "Check", "-c", "repeat 2 echo a  b", "-c", "Check");
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${'Check: {"status":"SERVING"}\n'.repeat(3)}a b\na b\nCheck: {"status":"SERVING"}\n`);
  });

  test("unknown command and bad arguments are syntax errors (exit 2), nothing is sent", async () => {
    const r1 = await ctl("-c", "Frobnicate", "-c", "Check");
    expect(r1).toEqual({ code: 2, out: "", err: 'error: unknown command "Frobnicate" (try: list)\n' });
    stderrChunks = [];
    const r2 = await ctl("-c", "WaitProcess cid=c1 colour=blue");
    expect(r2.code).toBe(2);
    expect(r2.err).toBe('WaitProcess: error: WaitProcessRequest: unknown name "colour" (valid: container_id, exec_id, cid, eid, exec)\n');
    expect(seen).toEqual([]);
  });

  test("sleep pauses; quit ends a command list", async () => {
    const t0 = performance.now();
    const r = await ctl("-c", "sleep 60ms", "-c", "sleep 20", "-c", "Check", "-c", "quit", "-c", "Version");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
    expect(r).toEqual({ code: 0, out: 'Check: {"status":"SERVING"}\n', err: "" });
    expect((await ctl("-c", "sleep soon")).code).toBe(2);
  });

  test("help for an unknown command is a syntax error too", async () => {
    expect(await ctl("-c", "help Nope")).toEqual({ code: 2, out: "", err: 'help: error: unknown command "Nope" (try: list)\n' });
    expect(await ctlMain(["help", "Nope"], io)).toBe(2);
  });

  test("syntax errors still exit 2 with --ignore-errors, and the list goes on", async () => {
    const r = await ctl("--ignore-errors", "-c", 'WaitProcess json://{"pid": 1}', "-c", "Check");
    expect(r.code).toBe(2);
    expect(r.out).toBe('Check: {"status":"SERVING"}\n');
    expect(r.err).toContain('unknown field "pid"');
  });

  test("--timeout is sent as the call's deadline", async () => {
    const t0 = performance.now();
    const r = await ctl("--timeout", "150ms", "-c", "GetOOMEvent");
    expect(r.code).toBe(1);
    expect(r.err).toStartWith("GetOOMEvent: error: rpc error: code = DEADLINE_EXCEEDED");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  test("container short forms arrive decoded at the server; the container id carries over", async () => {
    const r = await ctl(
      "-c", `CreateContainer cid=c1 rootfs=/run/rootfs cmd="sh -c 'echo hi'"`,
      "-c", "StartContainer",
      "-c", "SignalProcess eid=c1 signal=SIGTERM",
      "-c", "WaitProcess",
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toBe("CreateContainer: {}\nStartContainer: {}\nSignalProcess: {}\nWaitProcess: {\"status\":42}\n");
    const create = seen[0]!.req;
    expect(create.container_id).toBe("c1");
    expect(create.exec_id).toBe("c1");
    expect(create.OCI.Root.Path).toBe("/run/rootfs");
    expect(create.OCI.Process.Args).toEqual(["sh", "-c", "echo hi"]);
    expect(seen.slice(1).map((s) => [s.method, s.req.container_id])).toEqual([["StartContainer", "c1"], ["SignalProcess", "c1"], ["WaitProcess", "c1"]]);
    expect(seen[2]!.req.signal).toBe(15);
  });

  test("-n turns the auto values off", async () => {
    await ctl("-n", "-c", "CreateContainer cid=c9 rootfs=/r cmd=true", "-c", "StartContainer");
    expect(seen[0]!.req.exec_id).toBe("");
    expect(seen[1]!.req.container_id).toBe("");
  });

  test("WriteStdin text with escapes; ReadAll drains stdout and stderr", async () => {
    stdoutScript.set("r1", [Buffer.from("hello "), Buffer.from("world\n")]);
    stderrScript.set("r1", [Buffer.from("oops\n")]);
    const r = await ctl("-c", 'WriteStdin cid=r1 data="hi\\n"', "-c", "ReadAll cid=r1");
    expect(r.code).toBe(0);
    expect(r.out).toBe('WriteStdin: {"len":3}\nhello world\nReadAll: {"stdout_bytes":12,"stderr_bytes":5}\n');
    expect(r.err).toBe("oops\n");
  });

  test("interactive: lines from stdin, errors do not stop it, quit does", async () => {
    async function* lines() {
      yield "Check";
      yield "Nope";
      yield "echo still here";
      yield "quit";
      yield "Version";
    }
    const code = await ctlMain(["connect", "--server-address", address, "-i"], { ...io, stdinLines: lines(), prompt: true });
    expect(code).toBe(2);
    expect(stdoutChunks.join("")).toBe(`${PROMPT}Check: {"status":"SERVING"}\n${PROMPT}${PROMPT}still here\n${PROMPT}`);
    expect(stderrChunks.join("")).toBe('error: unknown command "Nope" (try: list)\n');
  });

  test("no server: the call fails with exit 1; built-ins need no connection", async () => {
    const none = "unix://@kata-ctl-test-nobody-listens";
    expect(await ctlMain(["connect", "--server-address", none, "-c", "echo ok", "-c", "help Check"], io)).toBe(0);
    expect(stdoutChunks.join("")).toStartWith("ok\nCheck: grpc.Health/Check(grpc.CheckRequest) returns grpc.HealthCheckResponse\n");
    expect(await ctlMain(["connect", "--server-address", none, "-c", "Check"], io)).toBe(1);
    expect(stderrChunks.join("")).toMatch(/^Check: error: rpc error: code = UNAVAILABLE desc = connect unix:\/\/@kata-ctl-test-nobody-listens/);
  });

  test("--hybrid-vsock: CONNECT <port> handshake first, then ttRPC through the proxy", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ctl-hvsock-"));
    const ports: string[] = [];
    // A stand-in for Cloud Hypervisor's vsock socket: answers "CONNECT n" with "OK", then relays.
    type Side = { upstream?: Socket<unknown>; pending: Uint8Array[]; handshaken: boolean };
    const proxy = Bun.listen<Side>({
      unix: join(dir, "hvsock"),
      socket: {
        open: (s) => void (s.data = { pending: [], handshaken: false }),
        data: async (s, chunk) => {
          if (s.data.handshaken) {
            if (s.data.upstream) s.data.upstream.write(chunk);
            else s.data.pending.push(chunk);
            return;
          }
          const line = Buffer.from(chunk).toString();
          ports.push(line);
          s.data.handshaken = true;
          s.write("OK 1073741824\n");
          s.data.upstream = await Bun.connect({
            unix: `\0${address.slice("unix://@".length)}`,
            socket: { data: (_u, d) => void s.write(d), close: () => void s.end() },
          });
          for (const p of s.data.pending.splice(0)) s.data.upstream.write(p);
        },
        close: (s) => void s.data.upstream?.end(),
      },
    });
    try {
      const code = await ctlMain(
        ["connect", "--server-address", `unix://${join(dir, "hvsock")}`, "--hybrid-vsock", "--hybrid-vsock-port", "2048", "-c", "Check"],
        io,
      );
      expect(stderrChunks.join("")).toBe("");
      expect(code).toBe(0);
      expect(stdoutChunks.join("")).toBe('Check: {"status":"SERVING"}\n');
      expect(ports).toEqual(["CONNECT 2048\n"]);
    } finally {
      proxy.stop(true);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the binary entry (src/main.ts ctl …) returns the exit code", async () => {
    const main = join(import.meta.dir, "../../src/main.ts");
    // The server runs in this process: Bun.spawnSync would block it, so spawn asynchronously.
    const p = Bun.spawn([process.execPath, main, "ctl", "connect", "--server-address", address, "-c", "Check", "-c", "Nope"], { stdout: "pipe", stderr: "pipe" });
    expect(await p.exited).toBe(2);
    expect(await new Response(p.stdout).text()).toBe('Check: {"status":"SERVING"}\n');
    expect(await new Response(p.stderr).text()).toBe('error: unknown command "Nope" (try: list)\n');
  });
});
