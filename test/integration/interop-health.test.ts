// containerd's Go ttRPC client (the library the Kata Go runtime uses), built offline from
// Debian's packages and generated from our protos/, against the compiled agent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildInteropClient, goAvailable } from "../interop/build.ts";
import { startAgent, type RunningAgent } from "../helpers/agent.ts";
import { missing } from "../helpers/require.ts";

const haveGo = goAvailable();
let agent: RunningAgent;
let bin: string;

function runScenarios(...scenarios: string[]): Record<string, any>[] {
  const p = Bun.spawnSync([bin, "-addr", agent.address, ...scenarios], { timeout: 60_000 });
  const lines = p.stdout.toString().trim().split("\n").filter(Boolean);
  if (p.exitCode !== 0) throw new Error(`interop-client exit ${p.exitCode}: ${p.stderr.toString()}\n${lines.join("\n")}`);
  return lines.map((l) => JSON.parse(l));
}

describe.skipIf(missing({ "Go with containerd ttrpc (golang-go, golang-github-containerd-ttrpc-dev)": haveGo }))("Go ttRPC client", () => {
  beforeAll(async () => {
    bin = buildInteropClient();
    agent = await startAgent();
  }, 180_000);
  afterAll(async () => {
    await agent?.stop();
  });

  test("Check → SERVING, Version → versions", () => {
    const [check, version] = runScenarios("check", "version");
    expect(check).toMatchObject({ scenario: "check", code: "OK", status: "SERVING" });
    expect(version).toMatchObject({ scenario: "version", code: "OK", grpc_version: "0.0.1" });
    expect(version!.agent_version).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("exact status codes for bad input, and SERVING after each", () => {
    const r = runScenarios("unknown-service", "check", "unknown-method", "check", "bad-payload", "check", "oversize", "check");
    expect(r[0]).toMatchObject({ code: "InvalidArgument" });
    expect(r[2]).toMatchObject({ code: "Unimplemented" });
    expect(r[4]).toMatchObject({ code: "InvalidArgument" });
    expect(r[4]!.message).toContain("CheckRequest");
    expect(r[6]).toMatchObject({ code: "ResourceExhausted" });
    for (const i of [1, 3, 5, 7]) expect(r[i]).toMatchObject({ scenario: "check", status: "SERVING" });
  });

  test("100 concurrent calls, a deadline, a client that vanishes mid-call; still healthy", () => {
    const [conc, deadline, disc, after] = runScenarios("concurrent", "deadline", "disconnect", "check");
    expect(conc).toMatchObject({ ok: 100, failed: 0 });
    expect(deadline).toMatchObject({ code: "DeadlineExceeded" });
    expect(deadline!.ms).toBeGreaterThanOrEqual(290);
    expect(disc!.code).not.toBe("OK");
    expect(after).toMatchObject({ status: "SERVING" });
    expect(agent.proc.exitCode).toBeNull();
  });
});
