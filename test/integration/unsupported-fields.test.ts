// Request fields the agent does not serve are refused by name, never ignored: CreateContainer's
// and ExecProcess's string_user and vsock stdio ports, CreateContainer's shared_mounts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code } from "../../src/ttrpc/status.ts";
import type { TtrpcClient } from "../../src/ttrpc/client.ts";
import { failure, startAgent, type RunningAgent } from "../helpers/agent.ts";
import { rpc } from "./containers-harness.ts";

let agent: RunningAgent;
let c: TtrpcClient;
beforeAll(async () => {
  agent = await startAgent();
  c = await agent.client();
});
afterAll(async () => {
  await agent?.stop();
});

test.each([
  ["CreateContainer", { container_id: "x", stdout_port: 1025 }, "stdout_port 1025"],
  ["CreateContainer", { container_id: "x", string_user: { uid: "app" } }, "string_user"],
  ["CreateContainer", { container_id: "x", shared_mounts: [{ name: "m" }] }, "shared_mounts"],
  ["ExecProcess", { container_id: "x", exec_id: "e", stdin_port: 7 }, "stdin_port 7"],
  ["ExecProcess", { container_id: "x", exec_id: "e", string_user: { additionalGids: ["wheel"] } }, "string_user"],
] as const)("%s with %j → INVALID_ARGUMENT naming the field", async (method, req, field) => {
  const f = await failure(rpc(c, method, req as never));
  expect(f.code).toBe(Code.INVALID_ARGUMENT);
  expect(f.message).toContain(field);
  expect(f.message).toContain("not supported");
});
