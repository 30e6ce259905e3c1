// agent-ctl request building: name=value words mapped by field type, json:// and file:// input,
// unknown fields and names rejected, the container short forms, and the encoded bytes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentService, grpc, types, type MethodDescriptor } from "../../src/gen/index.ts";
import { CONVENIENCE, DEFAULT_PATH } from "../../src/ctl/container-args.ts";
import { CtlSyntaxError } from "../../src/ctl/errors.ts";
import { normalizeMessage } from "../../src/ctl/json-check.ts";
import { buildRequest, type BuildContext } from "../../src/ctl/request.ts";
import { messageType } from "../../src/ctl/schema.ts";
import { rpcCommands } from "../../src/ctl/table.ts";

const files: Record<string, string> = {};
const ctx: BuildContext = {
  readFile(path) {
    if (!(path in files)) throw new Error(`ENOENT: no such file ${path}`);
    return files[path]!;
  },
};

function build(method: keyof typeof AgentService.methods, line: string[]) {
  const m = AgentService.methods[method];
  return buildRequest(messageType(m.requestType), line, ctx, CONVENIENCE[method]);
}

/** The request as the agent will decode it: built and encoded as agent-ctl does, decoded by the
 *  generated code (what the agent runs), shown as an object by reflection. */
function roundTrip(method: keyof typeof AgentService.methods, line: string[]): Record<string, any> {
  const m: MethodDescriptor = AgentService.methods[method];
  const t = messageType(m.requestType);
  const bytes = t.encode(t.fromObject(build(method, line))).finish();
  return t.toObject(m.request.decode(bytes) as never, { longs: Number, enums: String });
}

describe("schema covers every RPC", () => {
  test("44 commands, each request type found in the embedded protos", () => {
    const cmds = rpcCommands();
    expect(cmds.length).toBe(44);
    for (const c of cmds) expect(messageType(c.method.requestType).fullName).toBe(`.${c.method.requestType}`);
  });
});

describe("name=value", () => {
  test("aliases and field names, coerced by type", () => {
    expect(roundTrip("ReadStdout", ["cid=c1", "eid=e1", "len=4096"])).toEqual({ container_id: "c1", exec_id: "e1", len: 4096 });
    expect(roundTrip("TtyWinResize", ["container_id=c1", "exec_id=e", "row=40", "column=0x50"])).toEqual({
      container_id: "c1", exec_id: "e", row: 40, column: 80,
    });
    expect(roundTrip("RemoveContainer", ["cid=c1", "timeout=30"])).toEqual({ container_id: "c1", timeout: 30 });
  });

  test("signal by name or number", () => {
    expect(roundTrip("SignalProcess", ["cid=c", "signal=SIGKILL"]).signal).toBe(9);
    expect(roundTrip("SignalProcess", ["cid=c", "signal=usr1"]).signal).toBe(10);
    expect(roundTrip("SignalProcess", ["cid=c", "sig=15"]).signal).toBe(15);
    expect(() => build("SignalProcess", ["signal=SIGNOPE"])).toThrow(/unknown signal "SIGNOPE"/);
  });

  test("bytes from text with escapes", () => {
    const r = roundTrip("WriteStdin", ["cid=c", "data=hi\\n\\x00"]);
    expect(r.data).toEqual(Buffer.from([0x68, 0x69, 0x0a, 0x00]));
  });

  test("booleans, 64-bit numbers, enums", () => {
    expect(roundTrip("GetGuestDetails", ["mem_block_size=true", "mem_hotplug_probe=0"])).toEqual({ mem_block_size: true, mem_hotplug_probe: false });
    expect(roundTrip("MemHotplugByProbe", ["memHotplugProbeAddr=4294967296", "memHotplugProbeAddr=0x10"])).toEqual({ memHotplugProbeAddr: [4294967296, 16] });
    expect(roundTrip("SetGuestDateTime", ["Sec=1700000000000", "Usec=5"])).toEqual({ Sec: 1700000000000, Usec: 5 });
    const r = roundTrip("GetIPTables", ["is_ipv6=yes"]);
    expect(r.is_ipv6).toBe(true);
  });

  test("range and type errors name the field", () => {
    expect(() => build("ReadStdout", ["len=-1"])).toThrow(/ReadStreamRequest\.len: -1 is out of range for uint32/);
    expect(() => build("ReadStdout", ["len=4294967296"])).toThrow(/out of range/);
    expect(() => build("ReadStdout", ["len=lots"])).toThrow(/"lots" is not an integer/);
    expect(() => build("GetGuestDetails", ["mem_block_size=maybe"])).toThrow(/expected a boolean/);
  });

  test("unknown names list the valid ones", () => {
    let err: unknown;
    try {
      build("ReadStdout", ["cid=c", "length=5"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CtlSyntaxError);
    expect((err as Error).message).toBe('ReadStreamRequest: unknown name "length" (valid: container_id, exec_id, len, cid, eid, exec)');
  });

  test("words that are neither json://, file:// nor name=value are refused", () => {
    expect(() => build("ReadStdout", ["c1"])).toThrow(/unexpected argument "c1"/);
  });

  test("dotted paths, map entries, repeated values", () => {
    const r = roundTrip("CreateContainer", [
      "cid=c1", "OCI.Hostname=box", "OCI.Process.Terminal=true", "OCI.Process.Args=sh", "OCI.Process.Args=-c",
      "OCI.Annotations.io.katacontainers.x=1",
    ]);
    expect(r.OCI).toEqual({ Hostname: "box", Process: { Terminal: true, Args: ["sh", "-c"] }, Annotations: { "io.katacontainers.x": "1" } });
    const m = roundTrip("CreateContainer", ["cid=c1", "OCI.Annotations.owner=me", 'OCI.Process.Env=["A=1","B=2"]']);
    expect(m.OCI.Annotations).toEqual({ owner: "me" });
    expect(m.OCI.Process.Env).toEqual(["A=1", "B=2"]);
    expect(() => build("CreateContainer", ["OCI.Nope=1"])).toThrow(/CreateContainerRequest\.OCI: unknown name "Nope" \(valid: Version, Process, Root/);
    expect(() => build("CreateContainer", ["devices.id=1"])).toThrow(/not a single message/);
  });

  test("message fields take JSON", () => {
    const r = roundTrip("ExecProcess", ["cid=c", "eid=e", 'process=json://{"Args": ["ls", "/"], "Cwd": "/"}']);
    expect(r.process).toEqual({ Args: ["ls", "/"], Cwd: "/" });
    expect(() => build("ExecProcess", ["process=ls"])).toThrow(/give a Process as JSON/);
  });
});

describe("json:// and file://", () => {
  beforeAll(() => {
    files["/req.json"] = JSON.stringify({ container_id: "from-file", exec_id: "e" });
    files["/bad.json"] = "{not json";
  });

  test("json:// with proto field names", () => {
    expect(roundTrip("WaitProcess", ['json://{"container_id": "c 1", "exec_id": "e"}'])).toEqual({ container_id: "c 1", exec_id: "e" });
  });

  test("file:// reads the request; name=value words override it", () => {
    expect(roundTrip("WaitProcess", ["file:///req.json"])).toEqual({ container_id: "from-file", exec_id: "e" });
    expect(roundTrip("WaitProcess", ["file:///req.json", "cid=override"])).toEqual({ container_id: "override", exec_id: "e" });
  });

  test("later JSON documents merge over earlier ones", () => {
    const r = roundTrip("CreateContainer", ['json://{"container_id": "a", "OCI": {"Hostname": "h", "Version": "1"}}', 'json://{"OCI": {"Hostname": "h2"}}']);
    expect(r).toEqual({ container_id: "a", OCI: { Hostname: "h2", Version: "1" } });
  });

  test("unknown fields are rejected with their path, also nested", () => {
    expect(() => build("WaitProcess", ['json://{"containerId": "c"}'])).toThrow(
      'WaitProcessRequest: unknown field "containerId" (WaitProcessRequest has container_id, exec_id)',
    );
    expect(() => build("CreateContainer", ['json://{"OCI": {"Process": {"args": ["sh"], "env": []}}}'])).toThrow(
      /CreateContainerRequest\.OCI\.Process: unknown fields "args", "env" \(Process has Terminal, ConsoleSize, User, Args/,
    );
    expect(() => build("CreateContainer", ['json://{"storages": [{"driver": "x"}, {"fs_group": {"gid": 1}}]}'])).toThrow(
      /CreateContainerRequest\.storages\[1\]\.fs_group: unknown field "gid"/,
    );
  });

  test("values are checked by type", () => {
    expect(() => build("WaitProcess", ['json://{"container_id": 5}'])).toThrow(/container_id: expected a string, got 5/);
    expect(() => build("CreateContainer", ['json://{"devices": {}}'])).toThrow(/devices: expected an array/);
    expect(() => build("CreateContainer", ['json://{"OCI": []}'])).toThrow(/OCI: expected an object for Spec/);
    expect(() => build("WaitProcess", ["json://[1]"])).toThrow(/expected an object for WaitProcessRequest/);
  });

  test("bytes accept base64, byte arrays and {text}", () => {
    expect(roundTrip("WriteStdin", ['json://{"data": "aGk="}']).data).toEqual(Buffer.from("hi"));
    expect(roundTrip("WriteStdin", ['json://{"data": [1, 2, 255]}']).data).toEqual(Buffer.from([1, 2, 255]));
    expect(roundTrip("WriteStdin", ['json://{"data": {"text": "hé\\n"}}']).data).toEqual(Buffer.from("hé\n"));
    expect(() => build("WriteStdin", ['json://{"data": "not base64!"}'])).toThrow(/is not base64/);
  });

  test("enums by name (any case) or number", () => {
    const t = messageType("types.Interface");
    const n = normalizeMessage({ name: "eth0", IPAddresses: [{ family: "v6", address: "::1" }] }, t) as any;
    expect(t.toObject(t.fromObject(n), { enums: String }).IPAddresses[0].family).toBe("v6");
    expect(() => normalizeMessage({ IPAddresses: [{ family: "v5" }] }, t)).toThrow(/invalid value "v5" for enum IPFamily \(v4, v6\)/);
  });

  test("bad JSON and missing files are syntax errors", () => {
    expect(() => build("WaitProcess", ["file:///bad.json"])).toThrow(/file:\/\/\/bad.json: invalid JSON/);
    expect(() => build("WaitProcess", ["file:///missing.json"])).toThrow(/file:\/\/\/missing.json: ENOENT/);
    expect(() => build("WaitProcess", ["json://{]"])).toThrow(CtlSyntaxError);
  });
});

describe("container short forms", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ctl-bundle-"));
    mkdirSync(join(dir, "rootfs"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({
      ociVersion: "1.0.2",
      process: { args: ["/bin/true"], cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 } },
      root: { path: "rootfs" },
      linux: { namespaces: [{ type: "pid" }, { type: "mount" }] },
    }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("bundle= reads config.json, root.path resolved against the bundle", () => {
    const r = roundTrip("CreateContainer", ["cid=c1", `bundle=${dir}`]);
    expect(r.container_id).toBe("c1");
    expect(r.OCI.Root.Path).toBe(join(dir, "rootfs"));
    expect(r.OCI.Process.Args).toEqual(["/bin/true"]);
    expect(r.OCI.Linux.Namespaces.map((n: any) => n.Type)).toEqual(["pid", "mount"]);
  });

  test("bundle= with cmd= and terminal= overrides the process", () => {
    const r = roundTrip("CreateContainer", ["cid=c1", `bundle=${dir}`, `cmd=sh -c 'echo hi'`, "terminal=true"]);
    expect(r.OCI.Process.Args).toEqual(["sh", "-c", "echo hi"]);
    expect(r.OCI.Process.Terminal).toBe(true);
    expect(r.OCI.Process.Env).toEqual(["PATH=/bin"]);
  });

  test("spec= reads any config.json", () => {
    files["/b/config.json"] = JSON.stringify({ process: { args: ["x"] }, root: { path: "r" } });
    expect(roundTrip("CreateContainer", ["cid=c", "spec=file:///b/config.json"]).OCI.Root.Path).toBe("/b/r");
  });

  test("rootfs= + cmd= builds the runc default spec", () => {
    const r = roundTrip("CreateContainer", ["cid=c2", "rootfs=/run/rootfs", `cmd=sh -c "echo hi"`, "env=A=1", "env=PATH=/bin"]);
    expect(r.OCI.Root.Path).toBe("/run/rootfs");
    expect(r.OCI.Process.Args).toEqual(["sh", "-c", "echo hi"]);
    expect(r.OCI.Process.Env).toEqual(["A=1", "PATH=/bin"]);
    expect(r.OCI.Process.Terminal ?? false).toBe(false);
    expect(r.OCI.Linux.Namespaces.map((n: any) => n.Type).sort()).toEqual(["ipc", "mount", "network", "pid", "uts"]);
  });

  test("short-form errors", () => {
    expect(() => build("CreateContainer", ["cid=c", "rootfs=/r"])).toThrow(/needs cmd=/);
    expect(() => build("CreateContainer", ["cid=c", "rootfs=/r", `bundle=${dir}`, "cmd=x"])).toThrow(/only one of bundle=, rootfs=/);
    expect(() => build("CreateContainer", ["cid=c", "cmd=x"])).toThrow(/need bundle=, spec= or rootfs=/);
    expect(() => build("CreateContainer", ["cid=c", "bundle=/nonexistent-bundle"])).toThrow(CtlSyntaxError);
    expect(() => build("CreateContainer", ["cid=c", "bundle=/nonexistent-bundle", "terminal=maybe"])).toThrow(CtlSyntaxError);
    expect(() => build("CreateContainer", ["cid=c", "nope=1"])).toThrow(/valid: .*bundle, spec, rootfs, cmd/);
  });

  test("ExecProcess cmd= fills the container defaults", () => {
    const r = roundTrip("ExecProcess", ["cid=c", "eid=e1", "cmd=ls -l /", "uid=1000"]);
    expect(r.process).toEqual({ Args: ["ls", "-l", "/"], Env: [DEFAULT_PATH], Cwd: "/", User: { UID: 1000, GID: 0 } });
    const t = roundTrip("ExecProcess", ["cid=c", "eid=e1", "cmd=sh", "terminal=1", "env=X=1", "cwd=/tmp"]);
    expect(t.process).toEqual({ Args: ["sh"], Env: ["X=1"], Cwd: "/tmp", Terminal: true, User: { UID: 0, GID: 0 } });
    expect(() => build("ExecProcess", ["cid=c", "eid=e1", "terminal=true"])).toThrow(/give the command as cmd=/);
  });
});

describe("the generated codec agrees with the schema", () => {
  test("a built CreateContainerRequest verifies, and the generated code re-encodes it byte for byte", () => {
    const req = build("CreateContainer", ["cid=c", "rootfs=/r", "cmd=true"]);
    const t = messageType("grpc.CreateContainerRequest");
    const msg = t.fromObject(req);
    expect(t.verify(msg)).toBeNull();
    const bytes = t.encode(msg).finish();
    expect(grpc.CreateContainerRequest.encode(grpc.CreateContainerRequest.decode(bytes)).finish()).toEqual(bytes);
  });
});
