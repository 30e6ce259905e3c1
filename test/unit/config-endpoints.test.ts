// The endpoint allow-list: request type names, method → type mapping, health always served,
// and agreement with the generated service table when it exists.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildAllowList, isEndpointAllowed, isMethodAllowed } from "../../src/config/endpoints.ts";
import { AGENT_SERVICE_REQUESTS, HEALTH_REQUESTS, KNOWN_REQUEST_NAMES } from "../../src/config/request-names.ts";
import { missing } from "../helpers/require.ts";

const only = (...names: string[]) => ({ endpoints: { allowed: new Set(names) } });
const all = { endpoints: { allowed: null } };

describe("request names", () => {
  test("42 AgentService methods, 41 distinct request types (3 stdio methods share 2) + CheckRequest", () => {
    expect(Object.keys(AGENT_SERVICE_REQUESTS).length).toBe(42);
    expect(KNOWN_REQUEST_NAMES.size).toBe(42);
    expect(KNOWN_REQUEST_NAMES.has("CheckRequest")).toBe(true);
  });
});

describe("isEndpointAllowed", () => {
  test.each([
    ["no list", all, "CreateContainerRequest", true],
    ["no list", all, "AnythingRequest", true],
    ["[Create]", only("CreateContainerRequest"), "CreateContainerRequest", true],
    ["[Create]", only("CreateContainerRequest"), "StartContainerRequest", false],
    ["[]", only(), "CreateContainerRequest", false],
    ["[]", only(), "CheckRequest", true],
  ] as const)("%s: %s → %p", (_label, config, name, want) => {
    expect(isEndpointAllowed(config, name)).toBe(want);
  });
});

describe("isMethodAllowed (wire names)", () => {
  const cfg = only("ReadStreamRequest", "GuestDetailsRequest");
  test.each([
    ["grpc.AgentService", "ReadStdout", true],
    ["grpc.AgentService", "ReadStderr", true],
    ["grpc.AgentService", "WriteStdin", false],
    ["grpc.AgentService", "GetGuestDetails", true],
    ["grpc.AgentService", "CreateContainer", false],
    // Unknown methods pass so the server reports them as unknown, not blocked.
    ["grpc.AgentService", "NoSuchMethod", true],
    ["grpc.Health", "Check", true],
    ["grpc.Health", "Version", true],
  ])("%s/%s → %p", (service, method, want) => {
    expect(isMethodAllowed(cfg, service, method)).toBe(want);
  });
});

describe("buildAllowList", () => {
  test("every known name is accepted", () => {
    const r = buildAllowList([...KNOWN_REQUEST_NAMES], "x");
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.allowed).toEqual(new Set(KNOWN_REQUEST_NAMES));
  });

  test("method names get a hint for every method whose type differs", () => {
    for (const [method, request] of Object.entries(AGENT_SERVICE_REQUESTS)) {
      const r = buildAllowList([method], "x");
      expect(r.allowed.size).toBe(0);
      expect(r.problems).toEqual([]);
      expect(r.warnings[0]!.message).toContain(`did you mean "${request}"?`);
    }
  });

  test("names are case-sensitive, like Kata's set lookup", () => {
    const r = buildAllowList(["createcontainerrequest"], "x");
    expect(r.allowed.size).toBe(0);
    expect(r.warnings.length).toBe(1);
  });
});

// The protos helper generates src/gen/services.ts; when it exists, its method → request type
// table must be exactly ours, so the allow-list and the server agree. (Config keeps its own
// copy so it does not load the protobuf code.)
const generated = join(import.meta.dir, "../../src/gen/services.ts");
test.skipIf(missing({ [generated]: existsSync(generated) }))("agrees with src/gen/services.ts", async () => {
  type Service = { name: string; methods: Record<string, { requestName: string }> };
  const mod = (await import(generated)) as { ALL_SERVICES: readonly Service[] };
  const table = (name: string) => {
    const service = mod.ALL_SERVICES.find((s) => s.name === name);
    expect(service).toBeDefined();
    return Object.fromEntries(Object.entries(service!.methods).map(([m, d]) => [m, d.requestName]));
  };
  expect(table("grpc.AgentService")).toEqual({ ...AGENT_SERVICE_REQUESTS });
  expect(table("grpc.Health")).toEqual({ ...HEALTH_REQUESTS });
});
