// Wrong requests and unkind clients against the compiled agent: exact status codes and message
// substrings for bad specs and ids, concurrent duplicate creates, clients that vanish in the
// middle of a call, and that none of it leaves anything behind.
import { messageType } from "../../src/ctl/schema.ts";
import { describe, expect, test } from "bun:test";
import { Socket } from "node:net";
import { AgentService, type grpc } from "../../src/gen/index.ts";
import { encodeRequest } from "../../src/ttrpc/envelope.ts";
import { encodeFrame, FrameType } from "../../src/ttrpc/frame.ts";
import { childrenOf, Code, eventually, failure, fdCount, fdTargets, isRoot, readAll, rpc, useHarness, text, type Harness } from "./containers-harness.ts";
import { missing } from "../helpers/require.ts";

let h: Harness;
const cids = new Set<string>();

function create(cid: string, spec: grpc.ISpec, execId = "") {
  cids.add(cid);
  return rpc(h.c, "CreateContainer", { container_id: cid, exec_id: execId, OCI: spec });
}

function spec(cid: string, args: string[] = ["true"], edit: (s: grpc.ISpec) => void = () => {}): grpc.ISpec {
  const s = h.spec(args, { cid }) as grpc.ISpec;
  edit(s);
  return s;
}

describe.skipIf(missing({ root: isRoot }))("bad requests get exact statuses and leave nothing behind", () => {
  useHarness(cids, (x) => {
    h = x;
  });

  const cases: [string, (s: grpc.ISpec) => void, string[]][] = [
    ["relative root", (s) => (s.Root!.Path = "rootfs"), ["Root.Path", "relative"]],
    ["missing root", (s) => (s.Root!.Path = "/no/such/rootfs"), ["Root.Path", "/no/such/rootfs", "does not exist"]],
    ["no root", (s) => (s.Root = null), ["Root"]],
    ["relative mount destination", (s) => s.Mounts!.push({ destination: "mnt", type: "tmpfs", source: "tmpfs" }), ["Mounts[7].destination", "not absolute"]],
    ["'..' in a mount destination", (s) => s.Mounts!.push({ destination: "/mnt/../../etc", type: "tmpfs", source: "tmpfs" }), ["Mounts[7].destination", '".."']],
    ["missing args[0] binary", (s) => (s.Process!.Args = ["/bin/no-such-binary"]), ["Args[0]", "/bin/no-such-binary", "no such file"]],
    ["args[0] not in PATH", (s) => (s.Process!.Args = ["no-such-cmd"]), ["Args[0]", "no-such-cmd", "not found in PATH"]],
    ["no args", (s) => (s.Process!.Args = []), ["Args", "required"]],
    ["unknown capability", (s) => (s.Process!.Capabilities!.Bounding = ["CAP_NOPE"]), ["CAP_NOPE"]],
    ["unknown user name", (s) => (s.Process!.User = { Username: "nobody-here" }), ["nobody-here"]],
    ["missing process", (s) => (s.Process = null), ["Process"]],
  ];
  for (const [name, edit, parts] of cases) {
    test(`${name} → INVALID_ARGUMENT from CreateContainer`, async () => {
      const f = await failure(create("badspec", spec("badspec", ["true"], edit)));
      expect(f.code).toBe(Code.INVALID_ARGUMENT);
      expect(f.message).toStartWith("CreateContainer: ");
      for (const p of parts) expect(f.message).toContain(p);
      // The id was not kept: the same id can be created right away.
      await create("badspec", spec("badspec"));
    });
  }

  test("missing OCI spec → INVALID_ARGUMENT", async () => {
    const f = await failure(rpc(h.c, "CreateContainer", { container_id: "nospec" }));
    expect(f.code).toBe(Code.INVALID_ARGUMENT);
    expect(f.message).toContain("spec");
  });

  for (const bad of ["", "a", "-abc", "a/b", "../x", "has space", "x".repeat(0) + "ä-utf8"]) {
    test(`container id ${JSON.stringify(bad)} → INVALID_ARGUMENT`, async () => {
      const f = await failure(rpc(h.c, "CreateContainer", { container_id: bad, OCI: spec("badid") }));
      expect(f.code).toBe(Code.INVALID_ARGUMENT);
      expect(f.message).toContain("container id");
    });
  }

  test("duplicate container id → ALREADY_EXISTS; the first is untouched", async () => {
    await create("twice", spec("twice", ["sh", "-c", "echo first"]));
    const f = await failure(create("twice", spec("twice", ["sh", "-c", "echo second"])));
    expect(f.code).toBe(Code.ALREADY_EXISTS);
    expect(f.message).toContain("twice");
    await rpc(h.c, "StartContainer", { container_id: "twice" });
    expect(text(await readAll(h.c, "twice", "", "ReadStdout"))).toBe("first\n");
  });

  test("concurrent duplicate CreateContainer: exactly one wins, the others get ALREADY_EXISTS", async () => {
    const results = await Promise.all([1, 2, 3].map(() => failure(create("race", spec("race", ["sleep", "1000"])))));
    const codes = results.map((r) => r.code).sort();
    expect(codes).toEqual([Code.OK, Code.ALREADY_EXISTS, Code.ALREADY_EXISTS]);
    await rpc(h.c, "StartContainer", { container_id: "race" });
  });

  test("an RPC on a container still being created → FAILED_PRECONDITION, not a crash", async () => {
    // A prestart hook that takes a while keeps the create in progress.
    const s = spec("slowcreate", ["sleep", "1000"], (x) => {
      x.Hooks = { Prestart: [{ Path: "/bin/sleep", Args: ["sleep", "0.5"] }] };
    });
    const creating = create("slowcreate", s);
    await Bun.sleep(100);
    const f = await failure(rpc(h.c, "StartContainer", { container_id: "slowcreate" }));
    expect(f.code).toBe(Code.FAILED_PRECONDITION);
    expect(f.message).toContain("being created");
    const r = await failure(rpc(h.c, "RemoveContainer", { container_id: "slowcreate", timeout: 1 }));
    expect(r.code).toBe(Code.FAILED_PRECONDITION);
    await creating;
  });

  test("unknown container → INVALID_ARGUMENT for every container RPC", async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ["StartContainer", () => rpc(h.c, "StartContainer", { container_id: "ghost" })],
      ["RemoveContainer", () => rpc(h.c, "RemoveContainer", { container_id: "ghost" })],
      ["WaitProcess", () => rpc(h.c, "WaitProcess", { container_id: "ghost", exec_id: "" })],
      ["SignalProcess", () => rpc(h.c, "SignalProcess", { container_id: "ghost", exec_id: "", signal: 9 })],
      ["ReadStdout", () => rpc(h.c, "ReadStdout", { container_id: "ghost", exec_id: "", len: 10 })],
      ["WriteStdin", () => rpc(h.c, "WriteStdin", { container_id: "ghost", exec_id: "", data: new Uint8Array(1) })],
      ["PauseContainer", () => rpc(h.c, "PauseContainer", { container_id: "ghost" })],
      ["StatsContainer", () => rpc(h.c, "StatsContainer", { container_id: "ghost" })],
      ["UpdateContainer", () => rpc(h.c, "UpdateContainer", { container_id: "ghost", resources: {} })],
      ["TtyWinResize", () => rpc(h.c, "TtyWinResize", { container_id: "ghost", exec_id: "", row: 1, column: 1 })],
    ];
    for (const [method, call] of calls) {
      const f = await failure(call());
      expect({ method, code: f.code }).toEqual({ method, code: Code.INVALID_ARGUMENT });
      expect(f.message).toContain("ghost");
    }
  });

  test("unknown exec id → NOT_FOUND; exec into a stopped container → FAILED_PRECONDITION", async () => {
    await create("stopped", spec("stopped", ["true"]));
    for (const m of ["WaitProcess", "ReadStdout", "SignalProcess", "CloseStdin"] as const) {
      const f = await failure(rpc(h.c, m, { container_id: "stopped", exec_id: "nope", len: 1, signal: 9 } as never));
      expect({ m, code: f.code }).toEqual({ m, code: Code.NOT_FOUND });
    }
    const notStarted = await failure(rpc(h.c, "ExecProcess", { container_id: "stopped", exec_id: "early", process: spec("x").Process }));
    expect(notStarted.code).toBe(Code.FAILED_PRECONDITION);
    await rpc(h.c, "StartContainer", { container_id: "stopped" });
    expect((await rpc(h.c, "WaitProcess", { container_id: "stopped", exec_id: "" })).status).toBe(0);
    const late = await failure(rpc(h.c, "ExecProcess", { container_id: "stopped", exec_id: "late", process: spec("x").Process }));
    expect(late.code).toBe(Code.FAILED_PRECONDITION);
    const again = await failure(rpc(h.c, "StartContainer", { container_id: "stopped" }));
    expect(again.code).toBe(Code.FAILED_PRECONDITION);
  });

  test("exec with a missing binary → INVALID_ARGUMENT; the container keeps running", async () => {
    await create("execbad", spec("execbad", ["sleep", "1000"]));
    await rpc(h.c, "StartContainer", { container_id: "execbad" });
    const f = await failure(rpc(h.c, "ExecProcess", { container_id: "execbad", exec_id: "missing", process: spec("x", ["/nope"]).Process }));
    expect(f.code).toBe(Code.INVALID_ARGUMENT);
    expect(f.message).toContain("/nope");
    await rpc(h.c, "ExecProcess", { container_id: "execbad", exec_id: "ok", process: spec("x", ["echo", "still"]).Process });
    expect(text(await readAll(h.c, "execbad", "ok", "ReadStdout"))).toBe("still\n");
  });
});

describe.skipIf(missing({ root: isRoot }))("clients that vanish mid-call", () => {
  useHarness(cids, (x) => {
    h = x;
  });

  /** Sends one request on a raw socket and closes the socket without waiting for the answer. */
  async function sendAndVanish<M extends keyof typeof AgentService.methods>(method: M, req: object): Promise<void> {
    const d = AgentService.methods[method]!;
    const type = messageType(d.requestType);
    const payload = type.encode(type.fromObject(req)).finish();
    const body = encodeRequest({ service: AgentService.name, method, payload, timeoutNano: 0, metadata: [] });
    const sock = new Socket();
    await new Promise<void>((res, rej) => sock.connect(h.agent.socket, res).once("error", rej));
    await new Promise<void>((res) => sock.write(encodeFrame(1, FrameType.Request, 0, body), () => res()));
    await Bun.sleep(50);
    sock.destroy();
  }

  test("WaitProcess / ReadStdout / WriteStdin callers vanish; another client removes the container; no leaks", async () => {
    const round = async (cid: string) => {
      cids.add(cid);
      await h.create(cid, h.spec(["cat"], { cid }));
      await rpc(h.c, "StartContainer", { container_id: cid });
      await sendAndVanish("WaitProcess", { container_id: cid, exec_id: "" });
      await sendAndVanish("ReadStdout", { container_id: cid, exec_id: "", len: 1024 });
      await sendAndVanish("ReadStderr", { container_id: cid, exec_id: "", len: 1024 });
      await sendAndVanish("WriteStdin", { container_id: cid, exec_id: "", data: new Uint8Array(100_000) });
      await sendAndVanish("GetOOMEvent", {});
      const other = await h.agent.client();
      await rpc(other, "RemoveContainer", { container_id: cid, timeout: 5 });
      cids.delete(cid);
      await other.close();
    };
    // Warm-up: the runtime opens some descriptors lazily (the gate memfd; an eventfd + epoll pair
    // that appeared after the second round and then stayed constant over 12 rounds).
    await round("vanish0");
    await round("vanish1");
    await Bun.sleep(300);
    const before = fdTargets(h.pid);
    for (let i = 2; i <= 6; i++) await round(`vanish${i}`);
    await eventually("agent fds back to the start", () => fdCount(h.pid) <= before.length, 3000).catch((e) => {
      throw new Error(`${e.message}: before:\n${before.join("\n")}\nnow:\n${fdTargets(h.pid).join("\n")}`);
    });
    expect(childrenOf(h.pid)).toEqual([]);
  });

  test("a vanished ReadStdout does not eat output: the next reader gets everything", async () => {
    cids.add("keepout");
    await h.create("keepout", h.spec(["sh", "-c", "read x; echo after-read"], { cid: "keepout" }));
    await rpc(h.c, "StartContainer", { container_id: "keepout" });
    await sendAndVanish("ReadStdout", { container_id: "keepout", exec_id: "", len: 1024 });
    await rpc(h.c, "WriteStdin", { container_id: "keepout", exec_id: "", data: new TextEncoder().encode("go\n") });
    const out = text(await readAll(h.c, "keepout", "", "ReadStdout"));
    expect(out).toBe("after-read\n");
  });
});
