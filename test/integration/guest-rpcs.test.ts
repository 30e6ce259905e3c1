// The small guest RPCs through the compiled agent (not PID 1 here).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { AgentService, grpc } from "../../src/gen/index.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { Code } from "../../src/ttrpc/status.ts";
import { COPY_BASE } from "../../src/guest/copy-file.ts";
import { failure, startAgent, type RunningAgent } from "../helpers/agent.ts";
import { missing } from "../helpers/require.ts";

const isRoot = process.getuid?.() === 0;
let agent: RunningAgent;
let c: TtrpcClient;
const sub = `${COPY_BASE}/test-${process.pid}`;

async function call(method: string, type: { encode(m: never): { finish(): Uint8Array } }, req: unknown): Promise<Uint8Array> {
  return c.call(AgentService.name, method, type.encode(req as never).finish());
}

beforeAll(async () => {
  agent = await startAgent();
  c = await agent.client();
});
afterAll(async () => {
  await agent?.stop();
  rmSync(sub, { recursive: true, force: true });
});

test("GetGuestDetails names the agent version and that it is not the init", async () => {
  const out = grpc.GuestDetailsResponse.decode(await call("GetGuestDetails", grpc.GuestDetailsRequest, { mem_block_size: true }));
  expect(out.agent_details?.version).toMatch(/^\d+\.\d+\.\d+/);
  expect(out.agent_details?.init_daemon).toBe(false);
});

test.skipIf(missing({ root: isRoot }))("CopyFile writes below the shared directory and nowhere else", async () => {
  const data = Buffer.from("nameserver 10.0.0.1\n");
  const req = { path: `${sub}/resolv.conf`, file_size: data.length, file_mode: 0o100644, dir_mode: 0o750, uid: 0, gid: 0, offset: 0, data };
  expect((await failure(call("CopyFile", grpc.CopyFileRequest, req))).code).toBe(Code.OK);
  expect(readFileSync(`${sub}/resolv.conf`, "utf8")).toBe("nameserver 10.0.0.1\n");
  const { code: bad, message: msg } = await failure(call("CopyFile", grpc.CopyFileRequest, { ...req, path: `/tmp/kata-copyfile-escape-${process.pid}` }));
  expect(bad).toBe(Code.INVALID_ARGUMENT);
  expect(msg).toContain("outside");
  expect(existsSync(`/tmp/kata-copyfile-escape-${process.pid}`)).toBe(false);
  const { code: dots } = await failure(call("CopyFile", grpc.CopyFileRequest, { ...req, path: `${sub}/../../../../etc/kata-escape` }));
  expect(dots).toBe(Code.INVALID_ARGUMENT);
});

test("SetGuestDateTime is refused outside a VM (the agent is not PID 1)", async () => {
  const { code: c1, message: msg } = await failure(call("SetGuestDateTime", grpc.SetGuestDateTimeRequest, { Sec: 1, Usec: 0 }));
  expect(c1).toBe(Code.FAILED_PRECONDITION);
  expect(msg).toContain("PID 1");
});

test.skipIf(missing({ root: isRoot }))("ReseedRandomDev accepts bytes", async () => {
  expect((await failure(call("ReseedRandomDev", grpc.ReseedRandomDevRequest, { data: Buffer.alloc(64, 7) }))).code).toBe(Code.OK);
});
