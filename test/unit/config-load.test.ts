// Precedence as in Kata's AgentConfig::from_cmdline: --config FILE (then env) beats the kernel
// command line; agent.config_file=PATH on the cmdline switches to that file with NO env
// overrides; otherwise cmdline then env. Fatal only for --config problems outside init mode.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyEnvOverrides, loadConfig, parseArgs } from "../../src/config/load.ts";
import { defaultConfig } from "../../src/config/types.ts";
import { Level } from "../../src/log/logger.ts";

let dir = "";
const path = (name: string) => join(dir, name);
function write(name: string, text: string): string {
  writeFileSync(path(name), text);
  return path(name);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "config-load-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("parseArgs", () => {
  test.each([
    [[], { version: false, rest: [] }],
    [["--version"], { version: true, rest: [] }],
    [["-v"], { version: true, rest: [] }],
    [["-V"], { version: true, rest: [] }],
    [["--config", "/a.toml"], { configFile: "/a.toml", version: false, rest: [] }],
    [["-c", "/a.toml"], { configFile: "/a.toml", version: false, rest: [] }],
    [["--config=/a.toml"], { configFile: "/a.toml", version: false, rest: [] }],
    [["init", "--config", "/a.toml", "x"], { configFile: "/a.toml", version: false, rest: ["init", "x"] }],
  ] as [string[], object][])("%p", (argv, want) => {
    expect(parseArgs(argv)).toEqual({ ...want, problems: [] } as never);
  });

  test.each([[["--config"]], [["--config="]], [["-c", ""]]])("%p is a problem", (argv) => {
    const r = parseArgs(argv);
    expect(r.configFile).toBeUndefined();
    expect(r.problems.length).toBe(1);
    expect(r.problems[0]!.message).toContain("needs a file name");
  });
});

describe("environment overrides", () => {
  test.each([
    [{ KATA_AGENT_SERVER_ADDR: "unix:///tmp/foo.socket" }, { serverAddr: "unix:///tmp/foo.socket" }, ["KATA_AGENT_SERVER_ADDR"]],
    [{ KATA_AGENT_SERVER_ADDR: "unix://@/tmp/foo.socket" }, { serverAddr: "unix://@/tmp/foo.socket" }, ["KATA_AGENT_SERVER_ADDR"]],
    [{ KATA_AGENT_LOG_LEVEL: "trace" }, { logLevel: Level.Trace }, ["KATA_AGENT_LOG_LEVEL"]],
    [{ KATA_AGENT_LOG_LEVEL: "debug" }, { logLevel: Level.Debug }, ["KATA_AGENT_LOG_LEVEL"]],
    [{ KATA_AGENT_TRACING: "1" }, { tracing: true }, ["KATA_AGENT_TRACING"]],
    [{ KATA_AGENT_TRACING: "true" }, { tracing: true }, ["KATA_AGENT_TRACING"]],
    [{ KATA_AGENT_LOG_LEVEL: "", KATA_AGENT_TRACING: "", KATA_AGENT_SERVER_ADDR: "" }, {}, []],
    [{ OTHER: "x" }, {}, []],
  ] as [Record<string, string>, object, string[]][])("%p", (env, want, names) => {
    const c = defaultConfig();
    expect(applyEnvOverrides(c, env)).toEqual([]);
    expect(c).toMatchObject(want);
    expect(c.source.envOverrides).toEqual(names);
  });

  test.each([
    [{ KATA_AGENT_LOG_LEVEL: "debugger" }, 'environment: KATA_AGENT_LOG_LEVEL: "debugger" is not a log level'],
    [{ KATA_AGENT_TRACING: "foo" }, 'environment: KATA_AGENT_TRACING: "foo" is not a boolean'],
    [{ KATA_AGENT_SERVER_ADDR: "foo=bar" }, 'environment: KATA_AGENT_SERVER_ADDR: "foo=bar" is not a server address'],
  ] as [Record<string, string>, string][])("bad %p is a problem and changes nothing", (env, message) => {
    const c = defaultConfig();
    const problems = applyEnvOverrides(c, env);
    expect(problems.map((p) => p.message.slice(0, message.length))).toEqual([message]);
    expect(c).toEqual(defaultConfig());
  });
});

describe("precedence", () => {
  const base = { env: {} as Record<string, string>, initMode: false };

  test("no --config: cmdline, then env (env beats cmdline, as in Kata)", () => {
    const cmdline = write("c1", "agent.server_addr=unix:///tmp/ignored.socket agent.log=debug agent.trace\n");
    const r = loadConfig({
      ...base,
      argv: [],
      cmdlinePath: cmdline,
      env: { KATA_AGENT_SERVER_ADDR: "unix:///tmp/foo.socket", KATA_AGENT_LOG_LEVEL: "trace" },
    });
    expect(r.problems).toEqual([]);
    expect(r.fatal).toBe(false);
    expect(r.config.serverAddr).toBe("unix:///tmp/foo.socket");
    expect(r.config.logLevel).toBe(Level.Trace);
    expect(r.config.tracing).toBe(true);
    expect(r.config.source).toEqual({
      kind: "cmdline",
      cmdlinePath: cmdline,
      envOverrides: ["KATA_AGENT_SERVER_ADDR", "KATA_AGENT_LOG_LEVEL"],
    });
  });

  test("--config: the file only (cmdline ignored), then env beats the file", () => {
    const cmdline = write("c2", "agent.debug_console agent.log=error");
    const file = write("a.toml", "dev_mode = true\nserver_addr = 'unix:///tmp/ignored.socket'\nlog_level = 'warn'\n");
    const r = loadConfig({
      ...base,
      argv: ["--config", file],
      cmdlinePath: cmdline,
      env: { KATA_AGENT_SERVER_ADDR: "unix:///tmp/overwrite.socket" },
    });
    expect(r.problems).toEqual([]);
    expect(r.fatal).toBe(false);
    expect(r.config.devMode).toBe(true);
    expect(r.config.debugConsole).toBe(false);
    expect(r.config.logLevel).toBe(Level.Warn);
    expect(r.config.serverAddr).toBe("unix:///tmp/overwrite.socket");
    expect(r.config.source).toEqual({
      kind: "file",
      configFile: file,
      configFileVia: "argv",
      envOverrides: ["KATA_AGENT_SERVER_ADDR"],
    });
  });

  test("agent.config_file on the cmdline: the file replaces all cmdline options, env is ignored", () => {
    const file = write("b.toml", "log_level = 'trace'\n[endpoints]\nallowed = ['CreateContainerRequest']\n");
    const cmdline = write("c3", `agent.debug_console agent.log=error agent.config_file=${file} agent.log_vport=1025`);
    const r = loadConfig({
      ...base,
      argv: [],
      cmdlinePath: cmdline,
      env: { KATA_AGENT_SERVER_ADDR: "unix:///tmp/env.socket", KATA_AGENT_LOG_LEVEL: "info", KATA_AGENT_TRACING: "1" },
    });
    expect(r.problems).toEqual([]);
    expect(r.config.logLevel).toBe(Level.Trace);
    expect(r.config.debugConsole).toBe(false);
    expect(r.config.logVport).toBe(0);
    expect(r.config.serverAddr).toBe("vsock://-1:1024");
    expect(r.config.tracing).toBe(false);
    expect(r.config.endpoints.allowed).toEqual(new Set(["CreateContainerRequest"]));
    expect(r.config.source).toEqual({
      kind: "file",
      configFile: file,
      configFileVia: "cmdline",
      cmdlinePath: cmdline,
      envOverrides: [],
    });
  });

  test("--config beats agent.config_file", () => {
    const fromCmdline = write("d.toml", "log_level = 'error'");
    const fromArgv = write("e.toml", "log_level = 'debug'");
    const cmdline = write("c4", `agent.config_file=${fromCmdline}`);
    const r = loadConfig({ ...base, argv: [`--config=${fromArgv}`], cmdlinePath: cmdline });
    expect(r.config.logLevel).toBe(Level.Debug);
    expect(r.config.source.configFile).toBe(fromArgv);
  });

  test("no allow-list without a file: every request allowed", () => {
    const r = loadConfig({ ...base, argv: [], cmdlinePath: write("c5", "") });
    expect(r.config.endpoints.allowed).toBeNull();
  });
});

describe("fatal only for --config problems outside init mode", () => {
  test.each([
    ["bad value", "log_level = 'loud'", "log_level"],
    ["invalid TOML", "log_level = ", "invalid TOML"],
    ["endpoint that is not a string", "[endpoints]\nallowed = [7]", "allowed[0]"],
  ])("--config with %s: fatal, the problem is reported", (_what, text, needle) => {
    const file = write("bad.toml", text);
    const r = loadConfig({ argv: ["--config", file], env: {}, initMode: false, cmdlinePath: write("c6", "") });
    expect(r.fatal).toBe(true);
    expect(r.problems.length).toBe(1);
    expect(r.problems[0]!.message).toStartWith(file);
    expect(r.problems[0]!.message).toContain(needle);
  });

  test("--config with a missing file is fatal", () => {
    const r = loadConfig({ argv: ["--config", path("missing.toml")], env: {}, initMode: false });
    expect(r.fatal).toBe(true);
    expect(r.problems.map((p) => p.message)).toEqual([`${path("missing.toml")}: cannot read config file: ENOENT`]);
  });

  test("--config without a file name is fatal", () => {
    const r = loadConfig({ argv: ["--config"], env: {}, initMode: false });
    expect(r.fatal).toBe(true);
    expect(r.problems[0]!.message).toBe("arguments: --config: needs a file name (--config FILE)");
  });

  test("a bad env value with --config is fatal too", () => {
    const file = write("ok.toml", "");
    const r = loadConfig({ argv: ["--config", file], env: { KATA_AGENT_LOG_LEVEL: "loud" }, initMode: false });
    expect(r.fatal).toBe(true);
  });

  test("in init mode --config problems are not fatal; defaults kept", () => {
    const file = write("bad2.toml", "log_level = 'loud'\nlog_vport = 1025");
    const r = loadConfig({ argv: ["--config", file], env: {}, initMode: true });
    expect(r.fatal).toBe(false);
    expect(r.problems.length).toBe(1);
    expect(r.config.logLevel).toBe(Level.Info);
    expect(r.config.logVport).toBe(1025);
  });

  test("cmdline problems are never fatal", () => {
    const r = loadConfig({ argv: [], env: {}, initMode: false, cmdlinePath: write("c7", "agent.log=loud agent.log_vport=1025") });
    expect(r.fatal).toBe(false);
    expect(r.problems.map((p) => p.key)).toEqual(["agent.log"]);
    expect(r.config.logVport).toBe(1025);
  });

  test("an unreadable cmdline: a problem, defaults plus env", () => {
    const r = loadConfig({ argv: [], env: { KATA_AGENT_LOG_LEVEL: "debug" }, initMode: true, cmdlinePath: path("nope") });
    expect(r.fatal).toBe(false);
    expect(r.problems.map((p) => p.message)).toEqual([`${path("nope")}: cannot read kernel command line: ENOENT`]);
    expect(r.config.logLevel).toBe(Level.Debug);
  });
});

describe("an unusable agent.config_file falls back to the other cmdline options", () => {
  test.each([
    ["missing", undefined, "cannot read config file (from agent.config_file): ENOENT"],
    ["invalid TOML", "x = = 1", "invalid TOML"],
  ])("%s file", (_what, text, needle) => {
    const file = text === undefined ? path("absent.toml") : write("broken.toml", text);
    const cmdline = write("c8", `agent.log=debug agent.config_file=${file}`);
    const r = loadConfig({ argv: [], env: { KATA_AGENT_TRACING: "1" }, initMode: true, cmdlinePath: cmdline });
    expect(r.fatal).toBe(false);
    expect(r.problems.map((p) => p.message)).toEqual([
      expect.stringContaining(needle),
      `${cmdline}: agent.config_file: ${JSON.stringify(file)} is unusable; using the other command-line options instead`,
    ]);
    expect(r.config.logLevel).toBe(Level.Debug);
    expect(r.config.tracing).toBe(true);
    expect(r.config.source.kind).toBe("cmdline");
  });

  test("a file with a bad value is still used, that value keeps its default", () => {
    const file = write("half.toml", "log_level = 'loud'\ntracing = true");
    const cmdline = write("c9", `agent.log=debug agent.config_file=${file}`);
    const r = loadConfig({ argv: [], env: {}, initMode: true, cmdlinePath: cmdline });
    expect(r.problems.map((p) => p.key)).toEqual(["log_level"]);
    expect(r.config.logLevel).toBe(Level.Info);
    expect(r.config.tracing).toBe(true);
    expect(r.config.source.kind).toBe("file");
  });
});

test("warnings from the cmdline and the file are passed on", () => {
  const file = write("w.toml", "colour = 'blue'");
  const r = loadConfig({ argv: [], env: {}, initMode: false, cmdlinePath: write("c10", `agent.frobnicate agent.config_file=${file}`) });
  expect(r.problems).toEqual([]);
  expect(r.warnings.map((w) => w.key)).toEqual(["agent.frobnicate", "colour"]);
});

test("--config with an endpoint of no known request: a warning naming it, not fatal (Kata ignores it)", () => {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  const file = join(dir, "a.toml");
  writeFileSync(file, "[endpoints]\nallowed = ['PullImageRequest', 'CheckRequest']");
  const r = loadConfig({ argv: ["--config", file], env: {}, initMode: false, cmdlinePath: join(dir, "none") });
  expect(r.fatal).toBe(false);
  expect(r.problems).toEqual([]);
  expect(r.warnings.map((w) => w.message).join("\n")).toContain("PullImageRequest");
  rmSync(dir, { recursive: true });
});
