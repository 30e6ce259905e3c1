// The start-up registration (src/services/boot.ts): wire names and the fixed Check answer agree
// with the generated services; the protobuf runtime path takes over for anything else.
import { describe, expect, test } from "bun:test";
import { AgentService, HealthService, grpc } from "../../src/gen/index.ts";
import { AGENT_SERVICE, HEALTH_SERVICE, registerServicesLazily, SERVING_ANSWER } from "../../src/services/boot.ts";
import type { ServiceDeps } from "../../src/services/deps.ts";
import { TtrpcServer } from "../../src/ttrpc/server.ts";
import { Code, RpcError } from "../../src/ttrpc/status.ts";
import { Logger } from "../../src/log/logger.ts";

const quiet = Logger.create();
quiet.setSink(() => {});
const ctx = {} as never;

describe("services registered at start-up", () => {
  test("names and the empty-request Check answer are the generated ones", () => {
    expect(HEALTH_SERVICE).toBe(HealthService.name);
    expect(AGENT_SERVICE).toBe(AgentService.name);
    const encoded = grpc.HealthCheckResponse.encode({ status: grpc.HealthCheckResponse.ServingStatus.SERVING }).finish();
    expect([...encoded]).toEqual([...SERVING_ANSWER]);
  });

  test("Check with a request body, Version and AgentService go through the generated codecs", async () => {
    const server = new TtrpcServer({ log: quiet });
    const warm = registerServicesLazily(server, { log: quiet } as unknown as ServiceDeps);
    const health = server.lookup(HEALTH_SERVICE)!;
    expect([...(health.get("Check")!(new Uint8Array(), ctx) as Uint8Array)]).toEqual([...SERVING_ANSWER]);
    const named = grpc.CheckRequest.encode({ service: "grpc.AgentService" }).finish();
    expect([...(health.get("Check")!(named, ctx) as Uint8Array)]).toEqual([...SERVING_ANSWER]);
    let err: unknown;
    try {
      health.get("Check")!(new Uint8Array([0x0a, 0x05, 0x41]), ctx); // a string running past the end
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe(Code.INVALID_ARGUMENT);
    const version = grpc.VersionCheckResponse.decode(health.get("Version")!(new Uint8Array(), ctx) as Uint8Array);
    expect(version.agent_version).not.toBe("");
    warm.warm();
    const agent = server.lookup(AGENT_SERVICE)!;
    expect([...agent.keys()].sort()).toEqual(Object.keys(AgentService.methods).sort());
    expect(server.lookup("grpc.Nothing")).toBeUndefined();
  });
});
