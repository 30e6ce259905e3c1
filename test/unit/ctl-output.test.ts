// agent-ctl output: one JSON line per response, enums by name, 64-bit numbers as numbers,
// bytes as text when printable else {"base64"}, errors in Go's rpc error format.
import { describe, expect, test } from "bun:test";
import { google, grpc } from "../../src/gen/index.ts";
import { messageType } from "../../src/ctl/schema.ts";
import { displayValue, errorLine, printableText, renderMessage, responseLine } from "../../src/ctl/output.ts";
import { CtlSyntaxError } from "../../src/ctl/errors.ts";
import { Code, RpcError } from "../../src/ttrpc/status.ts";

/** Renders a message after a trip through the wire, as agent-ctl sees it: encoded from a plain
 *  object, decoded by the generated code, rendered by reflection. */
function rendered(codec: { decode(b: Uint8Array): unknown }, typeName: string, obj: object): string {
  const t = messageType(typeName);
  const wire = t.encode(t.fromObject(obj)).finish();
  return renderMessage(t, codec.decode(wire));
}

describe("renderMessage", () => {
  test("enums by name", () => {
    expect(rendered(grpc.HealthCheckResponse, "grpc.HealthCheckResponse", { status: 1 })).toBe('{"status":"SERVING"}');
  });

  test("defaults are shown (exit status 0 is not left out)", () => {
    expect(rendered(grpc.WaitProcessResponse, "grpc.WaitProcessResponse", { status: 0 })).toBe('{"status":0}');
    expect(rendered(grpc.VersionCheckResponse, "grpc.VersionCheckResponse", { grpc_version: "0.0.1" })).toBe('{"grpc_version":"0.0.1","agent_version":""}');
  });

  test("empty responses print {}", () => {
    expect(rendered(google.protobuf.Empty, "google.protobuf.Empty", {})).toBe("{}");
  });

  test("printable bytes as text, others as base64", () => {
    expect(rendered(grpc.ReadStreamResponse, "grpc.ReadStreamResponse", { data: Buffer.from("hi\n\tthere\x1b[0m") })).toBe('{"data":"hi\\n\\tthere\\u001b[0m"}');
    expect(rendered(grpc.ReadStreamResponse, "grpc.ReadStreamResponse", { data: Buffer.from([0, 1, 2, 255]) })).toBe('{"data":{"base64":"AAEC/w=="}}');
    expect(rendered(grpc.ReadStreamResponse, "grpc.ReadStreamResponse", {})).toBe('{"data":""}');
  });

  test("64-bit values are plain numbers; unset messages are left out", () => {
    const json = JSON.parse(rendered(grpc.StatsContainerResponse, "grpc.StatsContainerResponse", { cgroup_stats: { memory_stats: { cache: 2 ** 40 } } }));
    expect(json.cgroup_stats.memory_stats.cache).toBe(2 ** 40);
    expect(json.cgroup_stats.cpu_stats).toBeUndefined();
    expect(json.network_stats).toEqual([]);
  });
});

describe("printableText / displayValue", () => {
  test("invalid UTF-8 and control characters are not text", () => {
    expect(printableText(Buffer.from([0xc3, 0x28]))).toBeUndefined();
    expect(printableText(Buffer.from("bell\x07"))).toBeUndefined();
    expect(printableText(Buffer.from("é ok\r\n"))).toBe("é ok\r\n");
  });
  test("walks nested values and drops nulls", () => {
    expect(displayValue({ a: null, b: [Buffer.from("x")], c: { d: 1 } })).toEqual({ b: ["x"], c: { d: 1 } });
  });
});

describe("lines", () => {
  test("response and error lines", () => {
    expect(responseLine("Check", '{"status":"SERVING"}')).toBe('Check: {"status":"SERVING"}\n');
    expect(errorLine("WaitProcess", new RpcError(Code.NOT_FOUND, "no such process"))).toBe(
      "WaitProcess: error: rpc error: code = NOT_FOUND desc = no such process\n",
    );
    expect(errorLine(undefined, new CtlSyntaxError('unknown command "Nope"'))).toBe('error: unknown command "Nope"\n');
  });
});
