// The generated protocol code against bytes computed independently of it.
//
// Golden bytes: each `hex` below was produced ONCE by protoc (the C++ implementation) from the
// `text` beside it:
//   printf '%s' "$text" | protoc -Iprotos -I/usr/include --encode=<type> agent.proto health.proto | xxd -p
// and pasted here. The tests check protobufjs encode → exactly those bytes, and bytes → decode →
// the same message; a further test re-runs protoc on the text (when protoc is installed, as in
// CI) so a pasted hex that does not match its text cannot go unnoticed.
//
// The objects leave proto3 default values unset on purpose: protobufjs writes a default scalar
// it was explicitly given (see "explicit defaults" below), protoc/Go/Rust never do.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AgentService,
  HealthService,
  google,
  grpc,
  types,
  type AgentRequest,
  type AgentServiceTypes,
  type MessageCodec,
  type MethodDescriptor,
  type ServiceHandlers,
} from "../../src/gen/index.ts";
import { generate } from "../../scripts/gen-protos.ts";
import { messageType } from "../../src/ctl/schema.ts";
import { missing } from "../helpers/require.ts";

const ROOT = join(import.meta.dir, "..", "..");

interface Golden {
  type: string; // fully qualified, as protoc --encode wants it
  text: string; // protoc text format
  hex: string; // protoc's encoding of `text`
  object: Record<string, unknown>; // the same message for protobufjs (enums by name, bytes base64)
}

const SPEC_ROOTFS = "/run/kata-containers/shared/containers/c1/rootfs";

const GOLDEN: Record<string, Golden> = {
  CreateContainerRequest: {
    type: "grpc.CreateContainerRequest",
    text:
      'container_id: "c1" exec_id: "c1" ' +
      'storages { driver: "virtio-fs" source: "kataShared" fstype: "virtiofs" mount_point: "/run/kata-containers/shared/containers/c1/rootfs" } ' +
      'OCI { Version: "1.1.0" ' +
      'Process { Terminal: false User { UID: 0 GID: 0 } Args: "/bin/sh" Args: "-c" Args: "echo hi" Env: "PATH=/bin" Cwd: "/" ' +
      'Rlimits { Type: "RLIMIT_NOFILE" Hard: 1024 Soft: 1024 } OOMScoreAdj: -998 } ' +
      'Root { Path: "/run/kata-containers/shared/containers/c1/rootfs" Readonly: true } Hostname: "box" ' +
      'Mounts { destination: "/proc" source: "proc" type: "proc" } ' +
      'Annotations { key: "io.kubernetes.cri.container-type" value: "sandbox" } ' +
      'Linux { Namespaces { Type: "mount" } Namespaces { Type: "pid" } ' +
      'Resources { Memory { Limit: 268435456 } CPU { Quota: -1 Period: 100000 } } CgroupsPath: "/kata/c1" } } ' +
      "sandbox_pidns: true",
    hex:
      "0a026331120263312a530a0976697274696f2d66731a0a6b617461536861726564220876697274696f667332302f72756e2f6b6174612d" +
      "636f6e7461696e6572732f7368617265642f636f6e7461696e6572732f63312f726f6f7466733285020a05312e312e3012481a0022072f" +
      "62696e2f736822022d6322076563686f2068692a09504154483d2f62696e32012f42150a0d524c494d49545f4e4f46494c451080081880" +
      "08589af8ffffffffffffff011a340a302f72756e2f6b6174612d636f6e7461696e6572732f7368617265642f636f6e7461696e6572732f" +
      "63312f726f6f74667310012203626f782a130a052f70726f63120470726f631a0470726f633a2b0a20696f2e6b756265726e657465732e" +
      "6372692e636f6e7461696e65722d74797065120773616e64626f784235221912060880808080011a0f10ffffffffffffffffff0118a08d" +
      "062a082f6b6174612f633132070a056d6f756e7432050a037069643801",
    object: {
      container_id: "c1",
      exec_id: "c1",
      storages: [{ driver: "virtio-fs", source: "kataShared", fstype: "virtiofs", mount_point: SPEC_ROOTFS }],
      OCI: {
        Version: "1.1.0",
        Process: {
          User: {}, // present but all-default: protoc writes it as an empty message (1a00)
          Args: ["/bin/sh", "-c", "echo hi"],
          Env: ["PATH=/bin"],
          Cwd: "/",
          Rlimits: [{ Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024 }],
          OOMScoreAdj: -998,
        },
        Root: { Path: SPEC_ROOTFS, Readonly: true },
        Hostname: "box",
        Mounts: [{ destination: "/proc", source: "proc", type: "proc" }],
        Annotations: { "io.kubernetes.cri.container-type": "sandbox" },
        Linux: {
          Namespaces: [{ Type: "mount" }, { Type: "pid" }],
          Resources: { Memory: { Limit: 268435456 }, CPU: { Quota: -1, Period: 100000 } },
          CgroupsPath: "/kata/c1",
        },
      },
      sandbox_pidns: true,
    },
  },
  // Storage.fs_group is field 7; FSGroup numbers its fields from 2 (group_id=2, policy=3).
  Storage: {
    type: "grpc.Storage",
    text:
      'driver: "blk" source: "/dev/vda" fstype: "ext4" mount_point: "/run/vol" ' +
      "fs_group { group_id: 1000 group_change_policy: OnRootMismatch } shared: true",
    hex: "0a03626c6b1a082f6465762f76646122046578743432082f72756e2f766f6c3a0510e80718014001",
    object: {
      driver: "blk",
      source: "/dev/vda",
      fstype: "ext4",
      mount_point: "/run/vol",
      fs_group: { group_id: 1000, group_change_policy: "OnRootMismatch" },
      shared: true,
    },
  },
  // The random data is field 2, not 1.
  ReseedRandomDevRequest: {
    type: "grpc.ReseedRandomDevRequest",
    text: 'data: "\\x01\\x02\\x03\\xff"',
    hex: "1204010203ff",
    object: { data: Buffer.from([1, 2, 3, 255]).toString("base64") },
  },
  CheckRequest: {
    type: "grpc.CheckRequest",
    text: 'service: "grpc.AgentService"',
    hex: "0a11677270632e4167656e7453657276696365",
    object: { service: "grpc.AgentService" },
  },
  HealthCheckResponse: {
    type: "grpc.HealthCheckResponse",
    text: "status: SERVING",
    hex: "0801",
    object: { status: "SERVING" },
  },
  VersionCheckResponse: {
    type: "grpc.VersionCheckResponse",
    text: 'grpc_version: "0.0.1" agent_version: "3.18.0"',
    hex: "0a05302e302e311206332e31382e30",
    object: { grpc_version: "0.0.1", agent_version: "3.18.0" },
  },
  WaitProcessResponse: {
    type: "grpc.WaitProcessResponse",
    text: "status: 137",
    hex: "088901",
    object: { status: 137 },
  },
  // A negative int32 is sign-extended to ten varint bytes, as in every protobuf implementation.
  WaitProcessResponseNegative: {
    type: "grpc.WaitProcessResponse",
    text: "status: -1",
    hex: "08ffffffffffffffffff01",
    object: { status: -1 },
  },
  ReadStreamResponse: {
    type: "grpc.ReadStreamResponse",
    text: 'data: "hello\\n"',
    hex: "0a0668656c6c6f0a",
    object: { data: Buffer.from("hello\n").toString("base64") },
  },
  // int64 beyond 32 bits, a negative int32, uint32 modes.
  CopyFileRequest: {
    type: "grpc.CopyFileRequest",
    text:
      'path: "/run/kata-containers/shared/containers/f" file_size: 5000000000 file_mode: 420 dir_mode: 493 ' +
      'uid: -1 gid: 0 offset: 4294967296 data: "xy"',
    hex:
      "0a282f72756e2f6b6174612d636f6e7461696e6572732f7368617265642f636f6e7461696e6572732f661080e497d01218a40320ed0328ff" +
      "ffffffffffffffff0138808080801042027879",
    object: {
      path: "/run/kata-containers/shared/containers/f",
      file_size: 5000000000,
      file_mode: 420,
      dir_mode: 493,
      uid: -1,
      offset: 4294967296,
      data: Buffer.from("xy").toString("base64"),
    },
  },
  // proto3 `optional`: an explicitly set false/0 IS on the wire (08 00, 18 00).
  MemAgentMemcgConfig: {
    type: "grpc.MemAgentMemcgConfig",
    text: "disabled: false swappiness_max: 0 period_secs: 60",
    hex: "08001800203c",
    object: { disabled: false, swappiness_max: 0, period_secs: 60 },
  },
  // types.Route with the v4.1.0 fields flags=7 and mtu=8.
  Route: {
    type: "types.Route",
    text: 'dest: "10.0.0.0/8" gateway: "10.0.0.1" device: "eth0" scope: 0 family: v4 flags: 4 mtu: 1400',
    hex: "0a0a31302e302e302e302f38120831302e302e302e311a0465746830380440f80a",
    object: { dest: "10.0.0.0/8", gateway: "10.0.0.1", device: "eth0", flags: 4, mtu: 1400 },
  },
  // Packed repeated uint32 (proto3 default).
  AddSwapRequest: {
    type: "grpc.AddSwapRequest",
    text: "PCIPath: 2 PCIPath: 3",
    hex: "0a020203",
    object: { PCIPath: [2, 3] },
  },
};

function codecOf(fullType: string): MessageCodec<any> {
  const [pkg, ...rest] = fullType.split(".");
  const roots: Record<string, any> = { grpc, types, google };
  let node = roots[pkg!];
  for (const part of rest) node = node?.[part];
  if (!node?.encode) throw new Error(`no generated codec for ${fullType}`);
  return node as MessageCodec<any>;
}

const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const TO_OBJECT = { enums: String, bytes: String, longs: Number } as const;

describe("golden bytes (computed by protoc)", () => {
  for (const [name, g] of Object.entries(GOLDEN)) {
    test(`${name}: encode gives protoc's bytes`, () => {
      // JSON-like object → message by reflection; the bytes come from the generated encoder.
      const codec = codecOf(g.type);
      expect(toHex(codec.encode(messageType(g.type).fromObject(g.object)).finish())).toBe(g.hex);
    });
    test(`${name}: protoc's bytes decode to the message`, () => {
      const codec = codecOf(g.type);
      const decoded = codec.decode(fromHex(g.hex));
      expect(messageType(g.type).toObject(decoded as never, TO_OBJECT)).toEqual(g.object);
      expect(toHex(codec.encode(decoded).finish())).toBe(g.hex);
    });
  }

  const protoc = Bun.which("protoc");
  test.skipIf(missing({ "protoc (protobuf-compiler)": !!protoc }))("every pasted hex is what protoc makes of its text", () => {
    for (const [name, g] of Object.entries(GOLDEN)) {
      const r = Bun.spawnSync(
        [protoc!, "-I", join(ROOT, "protos"), "-I", "/usr/include", `--encode=${g.type}`, "agent.proto", "health.proto"],
        { cwd: join(ROOT, "protos"), stdin: Buffer.from(g.text), stdout: "pipe", stderr: "pipe" },
      );
      expect({ name, err: r.stderr.toString() }).toEqual({ name, err: "" });
      expect({ name, hex: r.stdout.toString("hex") }).toEqual({ name, hex: g.hex });
    }
  });
});

describe("encoding details others rely on", () => {
  test("google.protobuf.Empty is a zero-length payload both ways", () => {
    expect(google.protobuf.Empty.encode({}).finish().length).toBe(0);
    expect(google.protobuf.Empty.decode(new Uint8Array(0))).toBeInstanceOf(google.protobuf.Empty);
  });

  test("explicit defaults: a proto3 scalar set to its default is written, and reads back the same", () => {
    // protobufjs writes own properties even when they hold the default; protoc, Go and Rust omit
    // them. Both forms decode identically, so this is wire-compatible, but not byte-identical.
    const explicit = grpc.WaitProcessResponse.encode({ status: 0 }).finish();
    expect(toHex(explicit)).toBe("0800");
    expect(grpc.WaitProcessResponse.decode(explicit).status).toBe(0);
    expect(grpc.WaitProcessResponse.decode(new Uint8Array(0)).status).toBe(0);
    expect(grpc.WaitProcessResponse.encode({}).finish().length).toBe(0);
  });

  test("unknown fields are skipped, so newer Kata clients can talk to us", () => {
    // ReadStreamRequest{container_id="a", len=7} plus field 15 (varint 1) and field 16 (bytes "zz").
    const bytes = fromHex("0a01611807" + "7801" + "82010" + "27a7a");
    const m = grpc.ReadStreamRequest.decode(bytes);
    expect(m.container_id).toBe("a");
    expect(m.len).toBe(7);
  });

  test("64-bit integers decode to plain numbers", () => {
    const m = grpc.CopyFileRequest.decode(fromHex(GOLDEN.CopyFileRequest!.hex));
    expect(typeof m.file_size).toBe("number");
    expect(m.file_size).toBe(5_000_000_000);
    expect(grpc.LinuxCPU.decode(grpc.LinuxCPU.encode({ Quota: -1 }).finish()).Quota).toBe(-1);
    // Unset int64 fields read as the number 0, not a Long.
    expect(grpc.CopyFileRequest.decode(new Uint8Array(0)).file_size).toBe(0);
  });

  test("64-bit limits: values above 2^53 lose precision (RLIM_INFINITY reads as 2^64)", () => {
    // POSIXRlimit{Type="RLIMIT_NOFILE", Hard=2^64-1 (RLIM_INFINITY), Soft=2^53+1}, encoded by protoc.
    const bytes = fromHex("0a0d524c494d49545f4e4f46494c4510ffffffffffffffffff01188180808080808010");
    const r = grpc.POSIXRlimit.decode(bytes);
    expect(r.Hard).toBe(2 ** 64); // consumers must treat >= 2^63 as unlimited
    expect(r.Soft).toBe(2 ** 53); // 2^53 + 1 is not a double
  });
});

// Kata v4.1.0 agent.proto's service, in its order. Written out here rather than derived, so a
// lost or renamed RPC in protos/ fails this test.
const KATA_AGENT_RPCS = [
  "CreateContainer", "StartContainer", "RemoveContainer", "ExecProcess", "SignalProcess", "WaitProcess",
  "UpdateContainer", "UpdateEphemeralMounts", "StatsContainer", "PauseContainer", "ResumeContainer",
  "RemoveStaleVirtiofsShareMounts", "GetDiagnosticData",
  "WriteStdin", "ReadStdout", "ReadStderr", "CloseStdin", "TtyWinResize",
  "UpdateInterface", "UpdateRoutes", "ListInterfaces", "ListRoutes", "AddARPNeighbors", "GetIPTables", "SetIPTables",
  "GetMetrics",
  "MemAgentMemcgSet", "MemAgentCompactSet",
  "CreateSandbox", "DestroySandbox", "OnlineCPUMem", "ReseedRandomDev", "GetGuestDetails", "MemHotplugByProbe",
  "SetGuestDateTime", "CopyFile", "GetOOMEvent", "AddSwap", "AddSwapPath", "GetVolumeStats", "ResizeVolume", "SetPolicy",
];

// Request/response types whose names do not follow "<Rpc>Request" / Empty.
const UNUSUAL_SIGNATURES: Record<string, [string, string]> = {
  WaitProcess: ["grpc.WaitProcessRequest", "grpc.WaitProcessResponse"],
  StatsContainer: ["grpc.StatsContainerRequest", "grpc.StatsContainerResponse"],
  GetDiagnosticData: ["grpc.GetDiagnosticDataRequest", "grpc.GetDiagnosticDataResponse"],
  WriteStdin: ["grpc.WriteStreamRequest", "grpc.WriteStreamResponse"],
  ReadStdout: ["grpc.ReadStreamRequest", "grpc.ReadStreamResponse"],
  ReadStderr: ["grpc.ReadStreamRequest", "grpc.ReadStreamResponse"],
  UpdateInterface: ["grpc.UpdateInterfaceRequest", "types.Interface"],
  UpdateRoutes: ["grpc.UpdateRoutesRequest", "grpc.Routes"],
  ListInterfaces: ["grpc.ListInterfacesRequest", "grpc.Interfaces"],
  ListRoutes: ["grpc.ListRoutesRequest", "grpc.Routes"],
  GetIPTables: ["grpc.GetIPTablesRequest", "grpc.GetIPTablesResponse"],
  SetIPTables: ["grpc.SetIPTablesRequest", "grpc.SetIPTablesResponse"],
  GetMetrics: ["grpc.GetMetricsRequest", "grpc.Metrics"],
  MemAgentMemcgSet: ["grpc.MemAgentMemcgConfig", "google.protobuf.Empty"],
  MemAgentCompactSet: ["grpc.MemAgentCompactConfig", "google.protobuf.Empty"],
  GetGuestDetails: ["grpc.GuestDetailsRequest", "grpc.GuestDetailsResponse"],
  GetOOMEvent: ["grpc.GetOOMEventRequest", "grpc.OOMEvent"],
  GetVolumeStats: ["grpc.VolumeStatsRequest", "grpc.VolumeStatsResponse"],
};

describe("service tables", () => {
  test("grpc.AgentService has exactly Kata's 42 RPCs, in Kata's order", () => {
    expect(AgentService.name).toBe("grpc.AgentService");
    expect(KATA_AGENT_RPCS.length).toBe(42);
    expect(Object.keys(AgentService.methods)).toEqual(KATA_AGENT_RPCS);
  });

  test("every AgentService method has Kata's request and response types, wired to their codecs", () => {
    const methods: Record<string, MethodDescriptor> = AgentService.methods;
    for (const [rpc, m] of Object.entries(methods)) {
      const [req, res] = UNUSUAL_SIGNATURES[rpc] ?? [`grpc.${rpc}Request`, "google.protobuf.Empty"];
      expect({ rpc, name: m.name, requestType: m.requestType, responseType: m.responseType }).toEqual({
        rpc, name: rpc, requestType: req, responseType: res,
      });
      expect(m.requestName).toBe(req.slice(req.lastIndexOf(".") + 1));
      expect(m.request).toBe(codecOf(req) as any);
      expect(m.response).toBe(codecOf(res) as any);
    }
  });

  test("grpc.Health has Check and Version, both taking a CheckRequest", () => {
    expect(HealthService.name).toBe("grpc.Health");
    expect(Object.keys(HealthService.methods)).toEqual(["Check", "Version"]);
    expect(HealthService.methods.Check.request).toBe(grpc.CheckRequest);
    expect(HealthService.methods.Check.response).toBe(grpc.HealthCheckResponse);
    expect(HealthService.methods.Version.request).toBe(grpc.CheckRequest);
    expect(HealthService.methods.Version.response).toBe(grpc.VersionCheckResponse);
  });
});

describe("type helpers", () => {
  test("handlers get the generated interfaces and can be driven through the table", async () => {
    // Compile-time part: tsc rejects this file if the helpers stop naming the right interfaces.
    const create: AgentRequest<"CreateContainer"> = { container_id: "c", OCI: { Hostname: "h" } };
    const handlers: ServiceHandlers<AgentServiceTypes, { id: number }> = {
      WaitProcess: (req, ctx) => ({ status: (req.exec_id ?? "").length + ctx.id }),
    };
    // Run-time part: decode a request with the table's codec, call the handler, encode the answer.
    const m = AgentService.methods.WaitProcess;
    const req = m.request.decode(m.request.encode({ container_id: "c", exec_id: "abc" }).finish());
    const res = await handlers.WaitProcess!(req, { id: 100 });
    expect(m.response.decode(m.response.encode(res).finish()).status).toBe(103);
    expect(grpc.CreateContainerRequest.decode(grpc.CreateContainerRequest.encode(create).finish()).OCI?.Hostname).toBe("h");
  });
});

describe("generated code", () => {
  test("src/gen is what scripts/gen-protos.ts makes of protos/ today", () => {
    const out = mkdtempSync(join(tmpdir(), "protos-gen-"));
    try {
      generate(out);
      for (const f of ["protos.js", "protos.d.ts", "services.ts"]) {
        const fresh = readFileSync(join(out, f), "utf8");
        const committed = readFileSync(join(ROOT, "src", "gen", f), "utf8");
        // Compare lengths first so a mismatch does not print a megabyte of diff.
        expect({ f, length: committed.length }).toEqual({ f, length: fresh.length });
        expect(committed === fresh).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
