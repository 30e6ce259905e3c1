// Handlers may answer with payload parts that are written in order without being joined
// (ReadStdout's zero-copy path); the peer sees one ordinary message.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TtrpcServer } from "../../src/ttrpc/server.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { Code, RpcError } from "../../src/ttrpc/status.ts";
import { encodeBytesField1 } from "../../src/services/typed.ts";
import { grpc } from "../../src/gen/index.ts";

let dir: string, server: TtrpcServer, client: TtrpcClient;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ttrpc-parts-"));
  server = new TtrpcServer({});
  server.register("t.S", {
    Parts: (p) => [p.subarray(0, 2), new Uint8Array(0), p.subarray(2)],
    Big: () => [new Uint8Array(3 << 20), new Uint8Array(2 << 20)],
    Read: (p) => encodeBytesField1([p, Buffer.from("-tail")]).parts,
    Eof: () => encodeBytesField1([]).parts,
  });
  await server.listen(`unix://${join(dir, "s.sock")}`);
  client = await TtrpcClient.connect(`unix://${join(dir, "s.sock")}`);
});
afterAll(async () => {
  await client?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("parts arrive as one payload, in order", async () => {
  const out = await client.call("t.S", "Parts", Buffer.from("hello world"));
  expect(Buffer.from(out).toString()).toBe("hello world");
});

test("ReadStreamResponse built from chunks decodes like protobufjs's own encoding", async () => {
  const out = await client.call("t.S", "Read", Buffer.from("x".repeat(300)));
  expect(Buffer.from(grpc.ReadStreamResponse.decode(out).data).toString()).toBe("x".repeat(300) + "-tail");
  expect(Buffer.from(encodeBytesField1([Buffer.from("ab"), Buffer.from("c")]).parts.map((p) => Buffer.from(p)).reduce((a, b) => Buffer.concat([a, b]))))
    .toEqual(Buffer.from(grpc.ReadStreamResponse.encode({ data: Buffer.from("abc") }).finish()));
  expect(grpc.ReadStreamResponse.decode(await client.call("t.S", "Eof", new Uint8Array())).data.length).toBe(0);
});

test("parts over the 4 MiB cap are RESOURCE_EXHAUSTED and the connection stays usable", async () => {
  await expect(client.call("t.S", "Big", new Uint8Array())).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED } as Partial<RpcError>);
  expect(Buffer.from(await client.call("t.S", "Parts", Buffer.from("ok!"))).toString()).toBe("ok!");
});
