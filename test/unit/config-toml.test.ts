// The TOML config file: every key, each accepted form, bad values (problem naming file, key,
// value), unknown keys (warnings), invalid TOML (Bun's message plus the line), [endpoints].
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTomlConfig } from "../../src/config/toml.ts";
import { defaultConfig, type AgentConfig } from "../../src/config/types.ts";
import { isEndpointAllowed } from "../../src/config/endpoints.ts";
import { Level } from "../../src/log/logger.ts";

type Fields = Omit<AgentConfig, "source" | "endpoints">;
function fields(c: AgentConfig): Fields {
  const { source: _s, endpoints: _e, ...rest } = c;
  return rest;
}
const defaults = fields(defaultConfig());

describe("keys and their forms", () => {
  const cases: [string, Partial<Fields>][] = [
    ["", {}],
    ["# only a comment\n", {}],
    ["debug_console = true", { debugConsole: true }],
    ["dev_mode = true", { devMode: true }],
    ['log_level = "debug"', { logLevel: Level.Debug }],
    ["log_level = 'warning'", { logLevel: Level.Warn }],
    ['log_level = "critical"', { logLevel: Level.Critical }],
    ["hotplug_timeout = 5", { hotplugTimeoutMs: 5000 }],
    ['hotplug_timeout = "10s"', { hotplugTimeoutMs: 10_000 }],
    ['hotplug_timeout = "1m30s"', { hotplugTimeoutMs: 90_000 }],
    ['hotplug_timeout = "7"', { hotplugTimeoutMs: 7000 }],
    ["hotplug_timeout = { secs = 2, nanos = 500000000 }", { hotplugTimeoutMs: 2500 }],
    ["hotplug_timeout = { secs = 4 }", { hotplugTimeoutMs: 4000 }],
    ["debug_console_vport = 1026", { debugConsoleVport: 1026 }],
    ["log_vport = 1025", { logVport: 1025 }],
    ["container_pipe_size = 1048576", { containerPipeSize: 1048576 }],
    ["server_addr = 'vsock://8:2048'", { serverAddr: "vsock://8:2048" }],
    ['server_addr = "unix:///run/a.sock"', { serverAddr: "unix:///run/a.sock" }],
    ["unified_cgroup_hierarchy = true", { unifiedCgroupHierarchy: true }],
    ["tracing = true", { tracing: true }],
    [
      "dev_mode = true\nserver_addr = 'unix:///tmp/x.socket'\nlog_level = 'trace'\ntracing = false",
      { devMode: true, serverAddr: "unix:///tmp/x.socket", logLevel: Level.Trace },
    ],
  ];
  test.each(cases)("%p", (text, want) => {
    const r = parseTomlConfig(text, "config.toml");
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(fields(r.config)).toEqual({ ...defaults, ...want });
    expect(r.config.endpoints.allowed).toBeNull();
    expect(r.config.source).toEqual({ kind: "file", configFile: "config.toml", envOverrides: [] });
  });
});

describe("bad values: problem names file, key and value; default kept", () => {
  const cases: [string, string][] = [
    ['log_level = "loud"', 'config.toml: log_level: "loud" is not a log level (trace, debug, info'],
    ["log_level = 3", "config.toml: log_level: 3 is not a string"],
    ['debug_console = "true"', 'config.toml: debug_console: "true" is not a boolean (true or false)'],
    ["dev_mode = 1", "config.toml: dev_mode: 1 is not a boolean"],
    ["tracing = []", "config.toml: tracing: [] is not a boolean"],
    ["unified_cgroup_hierarchy = 0", "config.toml: unified_cgroup_hierarchy: 0 is not a boolean"],
    ["hotplug_timeout = 0", "config.toml: hotplug_timeout: 0 must be greater than zero"],
    ["hotplug_timeout = -3", "config.toml: hotplug_timeout: -3 must be greater than zero"],
    ["hotplug_timeout = 1.5", "config.toml: hotplug_timeout: 1.5 is not a whole number of seconds"],
    ['hotplug_timeout = "soon"', 'config.toml: hotplug_timeout: "soon" is not a whole number of seconds or a Go duration'],
    ['hotplug_timeout = "-1s"', 'config.toml: hotplug_timeout: "-1s" must be greater than zero'],
    ["hotplug_timeout = 99999999", "config.toml: hotplug_timeout: 99999999 is too long"],
    ["hotplug_timeout = { secs = 0 }", "config.toml: hotplug_timeout: {\"secs\":0} must be greater than zero"],
    ["hotplug_timeout = { secs = 1, nanos = -1 }", "config.toml: hotplug_timeout: {\"secs\":1,\"nanos\":-1} is not a duration: must not be negative"],
    ["hotplug_timeout = { seconds = 1 }", "config.toml: hotplug_timeout: {\"seconds\":1} is not a duration"],
    ["hotplug_timeout = true", "config.toml: hotplug_timeout: true is not a timeout"],
    ["debug_console_vport = -1", "config.toml: debug_console_vport: -1 must not be negative"],
    ['log_vport = "1025"', 'config.toml: log_vport: "1025" is not a number'],
    ["log_vport = 4294967296", "config.toml: log_vport: 4294967296 is too large"],
    ["container_pipe_size = -1", "config.toml: container_pipe_size: -1 must not be negative"],
    ["container_pipe_size = 0.5", "config.toml: container_pipe_size: 0.5 is not a whole number of bytes"],
    ['server_addr = "somewhere"', 'config.toml: server_addr: "somewhere" is not a server address: expected scheme://'],
    ["server_addr = 1024", "config.toml: server_addr: 1024 is not a string"],
    ["log_level = 1979-05-27T07:32:00Z", "config.toml: log_level: 1979-05-27T07:32:00Z is not a string"],
  ];
  test.each(cases)("%p", (text, message) => {
    const r = parseTomlConfig(text, "config.toml");
    expect(r.problems.length).toBe(1);
    expect(r.problems[0]!.message).toStartWith(message);
    expect(fields(r.config)).toEqual(defaults);
  });

  test("good keys around a bad one still apply", () => {
    const r = parseTomlConfig("log_level = 'debug'\nlog_vport = -2\ntracing = true", "/etc/a.toml");
    expect(r.problems.map((p) => [p.origin, p.key, p.value])).toEqual([["/etc/a.toml", "log_vport", -2]]);
    expect(r.config.logLevel).toBe(Level.Debug);
    expect(r.config.tracing).toBe(true);
    expect(r.config.logVport).toBe(0);
  });
});

describe("unknown keys are warnings", () => {
  test.each([
    ["foo = 1", "config.toml: foo: is not a known key; ignored"],
    ["[debug]\nx = 1", "config.toml: debug: is not a known key; ignored"],
    ["cdh_api_timeout = 50", "config.toml: cdh_api_timeout: is a Kata option this agent does not implement; ignored"],
    ["mem_agent_enable = true", "config.toml: mem_agent_enable: is a Kata option this agent does not implement; ignored"],
    ["policy_file = '/x'", "config.toml: policy_file: is a Kata option this agent does not implement; ignored"],
    ["[endpoints]\nallowed = []\nblocked = ['x']", "config.toml: endpoints.blocked: is not a known key; ignored"],
  ])("%p", (text, warning) => {
    const r = parseTomlConfig(text, "config.toml");
    expect(r.problems).toEqual([]);
    expect(r.warnings.map((w) => w.message)).toContain(warning);
  });
});

describe("invalid TOML: one problem with Bun's message and the line", () => {
  test.each([
    ["a = \nb = 2", "config.toml:1: invalid TOML: Missing value after '='"],
    ['log_level = "debug"\nx = "open\n', "config.toml:2: invalid TOML: Unterminated string"],
    ["dev_mode = true\n\ndev_mode = false", "config.toml:3: invalid TOML: Cannot redefine key 'dev_mode'"],
    ["[endpoints]\nallowed=[]\n[endpoints]\n", "config.toml:3: invalid TOML: Cannot redefine table 'endpoints'"],
    ['s = """\nmulti\n"""\nb = ', "config.toml:4: invalid TOML: Missing value after '='"],
    ["a = 9007199254740993", "config.toml:1: invalid TOML: Integer cannot be losslessly represented"],
  ])("%p", (text, message) => {
    const r = parseTomlConfig(text, "config.toml");
    expect(r.problems.length).toBe(1);
    expect(r.problems[0]!.message).toStartWith(message);
    expect(r.warnings).toEqual([]);
    expect(fields(r.config)).toEqual(defaults);
  });
});

describe("[endpoints] allowed", () => {
  test("only the listed request types are allowed; health is always allowed", () => {
    const r = parseTomlConfig('[endpoints]\nallowed = ["CreateContainerRequest", "ReadStreamRequest"]', "c.toml");
    expect(r.problems).toEqual([]);
    expect(r.config.endpoints.allowed).toEqual(new Set(["CreateContainerRequest", "ReadStreamRequest"]));
    expect(isEndpointAllowed(r.config, "CreateContainerRequest")).toBe(true);
    expect(isEndpointAllowed(r.config, "ReadStreamRequest")).toBe(true);
    expect(isEndpointAllowed(r.config, "StartContainerRequest")).toBe(false);
    expect(isEndpointAllowed(r.config, "ExecProcessRequest")).toBe(false);
    expect(isEndpointAllowed(r.config, "CheckRequest")).toBe(true);
  });

  test("an empty list blocks every AgentService request, with a warning", () => {
    const r = parseTomlConfig("[endpoints]\nallowed = []", "c.toml");
    expect(r.problems).toEqual([]);
    expect(r.warnings.map((w) => w.message)).toEqual([
      "c.toml: endpoints.allowed: is empty: every AgentService request will be refused",
    ]);
    expect(isEndpointAllowed(r.config, "CreateContainerRequest")).toBe(false);
    expect(isEndpointAllowed(r.config, "CheckRequest")).toBe(true);
  });

  test("names of no request are warned about and ignored (as Kata); a non-string is a problem; good ones stay", () => {
    const r = parseTomlConfig(
      '[endpoints]\nallowed = ["StartContainerRequest", "CreateContainer", "Bogus", 7, "GetGuestDetails"]',
      "c.toml",
    );
    expect(r.problems.map((p) => p.message)).toEqual(["c.toml: endpoints.allowed[3]: 7 is not a request name (a string)"]);
    expect(r.warnings.map((p) => p.message)).toEqual([
      'c.toml: endpoints.allowed: "CreateContainer" is a method name, not a request type name (did you mean "CreateContainerRequest"?); ignored',
      'c.toml: endpoints.allowed: "Bogus" is not a request type name of grpc.AgentService or grpc.Health (e.g. "CreateContainerRequest"); ignored',
      'c.toml: endpoints.allowed: "GetGuestDetails" is a method name, not a request type name (did you mean "GuestDetailsRequest"?); ignored',
    ]);
    expect(r.config.endpoints.allowed).toEqual(new Set(["StartContainerRequest"]));
  });

  test("a duplicate entry is a warning", () => {
    const r = parseTomlConfig('[endpoints]\nallowed = ["CopyFileRequest", "CopyFileRequest"]', "c.toml");
    expect(r.problems).toEqual([]);
    expect(r.warnings.map((w) => w.message)).toEqual(['c.toml: endpoints.allowed: "CopyFileRequest" is listed twice']);
  });

  test.each([
    ["[endpoints]\n", "c.toml: endpoints: has no allowed = [ ... ] list; every request stays allowed"],
    ["endpoints = 3", "c.toml: endpoints: 3 must be a table with allowed = [ ... ]"],
    ["[endpoints]\nallowed = 'CopyFileRequest'", 'c.toml: endpoints.allowed: "CopyFileRequest" is not a list of request names'],
  ])("malformed %p", (text, message) => {
    const r = parseTomlConfig(text, "c.toml");
    expect(r.problems.map((p) => p.message)).toEqual([message]);
    expect(r.config.endpoints.allowed).toBeNull();
  });

  test("a custom set of known names can be given", () => {
    const r = parseTomlConfig('[endpoints]\nallowed = ["FooRequest", "CreateContainerRequest"]', "c.toml", new Set(["FooRequest"]));
    expect(r.config.endpoints.allowed).toEqual(new Set(["FooRequest"]));
    expect(r.warnings.length).toBe(1);
  });
});

test("the sample config parses cleanly to a unix socket and debug logging", async () => {
  const path = join(import.meta.dir, "../../src/config/sample-agent.toml");
  const r = parseTomlConfig(await Bun.file(path).text(), path);
  expect(r.problems).toEqual([]);
  expect(r.warnings).toEqual([]);
  expect(r.config.serverAddr).toBe("unix:///run/kata-agent-ts/agent.sock");
  expect(r.config.logLevel).toBe(Level.Debug);
  expect(r.config.endpoints.allowed).toBeNull();
});

test("Kata's all-endpoints sample loads unchanged: foreign request names are warnings, the rest allowed", () => {
  const path = join(import.meta.dir, "../fixtures/config/kata-all-endpoints.toml");
  const r = parseTomlConfig(readFileSync(path, "utf8"), path);
  expect(r.problems).toEqual([]);
  expect(r.warnings.map((w) => w.value)).toEqual(["PullImageRequest", "StartTracingRequest", "StopTracingRequest"]);
  expect(r.config.endpoints.allowed?.has("CreateContainerRequest")).toBe(true);
  expect(r.config.endpoints.allowed?.size).toBe(30);
  expect(r.config.devMode).toBe(true);
});

describe("the fast path takes exactly what each key's valibot schema takes", () => {
  // toml.ts settles values of the right type without valibot; everything must come out as the
  // schema alone would decide it: the same value, or a problem with the schema's message.
  const { KEY_SCHEMAS, safeParse } = require("../../src/config/toml-schemas.ts") as typeof import("../../src/config/toml-schemas.ts");
  const values = ["true", "false", "0", "1", "-1", "1024", "1025", "4294967295", "1.5", "nan", "inf", "1048576", "2147483648",
    '"x"', '""', '"debug"', '"WARN"', '"10s"', '"0s"', '"1m30s"', '"7"', '"vsock://-1:1024"', '"vsock://8:2048"', '"unix:///run/a.sock"',
    '"unix://"', '"tcp://1.2.3.4:5"', "[]", "[1]", "{ secs = 2 }", "{ secs = 0 }", "{ secs = -1 }", "{ nanos = 5 }", "{}"];
  const FIELD: Record<string, keyof AgentConfig> = {
    debug_console: "debugConsole", dev_mode: "devMode", log_level: "logLevel", hotplug_timeout: "hotplugTimeoutMs",
    debug_console_vport: "debugConsoleVport", log_vport: "logVport", container_pipe_size: "containerPipeSize",
    server_addr: "serverAddr", unified_cgroup_hierarchy: "unifiedCgroupHierarchy", tracing: "tracing",
  };
  test("every key has a field here", () => expect(Object.keys(FIELD).sort()).toEqual(Object.keys(KEY_SCHEMAS).sort()));
  const cases = Object.keys(KEY_SCHEMAS).flatMap((k) => values.map((val) => [k, val] as const));
  test.each(cases)("%s = %s", (name, val) => {
    const r = parseTomlConfig(`${name} = ${val}`, "c.toml");
    const value = (Bun.TOML.parse(`v = ${val}`) as { v: unknown }).v;
    const ref = safeParse(KEY_SCHEMAS[name]!, value);
    if (ref.success) {
      expect(r.problems).toEqual([]);
      expect((r.config as unknown as Record<string, unknown>)[FIELD[name]!]).toEqual(ref.output);
    } else {
      expect(r.problems.map((p) => p.reason)).toEqual([ref.issues[0].message]);
    }
  });
});
