// Kernel command line options: every option, the flag/bool forms, bad values (a problem
// naming option and value, default kept), unknown agent.* options (warnings), foreign tokens.
import { describe, expect, test } from "bun:test";
import { parseCmdline } from "../../src/config/cmdline.ts";
import { defaultConfig, type AgentConfig } from "../../src/config/types.ts";
import { Level } from "../../src/log/logger.ts";

type Fields = Omit<AgentConfig, "source" | "endpoints">;

function fields(c: AgentConfig): Fields {
  const { source: _s, endpoints: _e, ...rest } = c;
  return rest;
}
const defaults = fields(defaultConfig());

describe("defaults", () => {
  test("Kata's defaults", () => {
    expect(defaults).toEqual({
      debugConsole: false,
      devMode: false,
      logLevel: Level.Info,
      hotplugTimeoutMs: 3000,
      debugConsoleVport: 0,
      logVport: 0,
      containerPipeSize: 0,
      serverAddr: "vsock://-1:1024",
      unifiedCgroupHierarchy: false,
      tracing: false,
    });
    expect(defaultConfig().endpoints.allowed).toBeNull();
  });
});

describe("accepted options", () => {
  const cases: [string, Partial<Fields>][] = [
    ["", {}],
    ["foo", {}],
    ["foo bar", {}],
    ["foo agent bar", {}],
    ["foo debug_console agent bar devmode", {}],
    ["agent.debug_console", { debugConsole: true }],
    ["   agent.debug_console ", { debugConsole: true }],
    ["foo\tagent.debug_console\nbar", { debugConsole: true }],
    ["agent.debug_console=0", { debugConsole: false }],
    ["agent.debug_console=true", { debugConsole: true }],
    ["agent.devmode", { devMode: true }],
    ["agent.devmode agent.debug_console", { devMode: true, debugConsole: true }],
    ["agent.trace", { tracing: true }],
    ["agent.trace=true", { tracing: true }],
    ["agent.trace=false", { tracing: false }],
    ["agent.trace=0", { tracing: false }],
    ["agent.trace=1", { tracing: true }],
    ["agent.trace=isolated", { tracing: true }],
    ["agent.trace=collated", { tracing: true }],
    ["agent.log=debug", { logLevel: Level.Debug }],
    ["agent.log=trace", { logLevel: Level.Trace }],
    ["agent.log=warning", { logLevel: Level.Warn }],
    ["agent.log=fatal", { logLevel: Level.Critical }],
    ["agent.log=panic", { logLevel: Level.Critical }],
    ["agent.log=error agent.log=debug", { logLevel: Level.Debug }],
    ["agent.server_addr=unix:///tmp/foo.socket", { serverAddr: "unix:///tmp/foo.socket" }],
    [" agent.server_addr=unix:///tmp/foo.socket a", { serverAddr: "unix:///tmp/foo.socket" }],
    ["agent.server_addr=vsock://3:2048", { serverAddr: "vsock://3:2048" }],
    ["server_addr=unix:///tmp/foo.socket", {}],
    ["agent.hotplug_timeout=100", { hotplugTimeoutMs: 100_000 }],
    ["agent.hotplug_timeout=10s", { hotplugTimeoutMs: 10_000 }],
    ["agent.hotplug_timeout=1m30s", { hotplugTimeoutMs: 90_000 }],
    ["agent.hotplug_timeout=500ms", { hotplugTimeoutMs: 500 }],
    ["agent.debug_console_vport=1026", { debugConsoleVport: 1026 }],
    ["agent.log_vport=1025", { logVport: 1025 }],
    ["agent.log_vport=0", { logVport: 0 }],
    ["agent.container_pipe_size=2097152", { containerPipeSize: 2097152 }],
    ["agent.container_pipe_size=0", { containerPipeSize: 0 }],
    ["agent.unified_cgroup_hierarchy=1", { unifiedCgroupHierarchy: true }],
    ["systemd.unified_cgroup_hierarchy=true", { unifiedCgroupHierarchy: true }],
    ["systemd.unified_cgroup_hierarchy=11", { unifiedCgroupHierarchy: true }],
    ["systemd.unified_cgroup_hierarchy=false", { unifiedCgroupHierarchy: false }],
    ["cgroup_no_v1=all", { unifiedCgroupHierarchy: true }],
    ["cgroup_no_v1=1", {}],
    ["cgroup_no_v1=memory", {}],
    ["cgroup_no_v1=0 systemd.unified_cgroup_hierarchy=1", { unifiedCgroupHierarchy: true }],
    // cgroup_no_v1=all leaves no v1 controller to mount, whatever the other option says.
    ["cgroup_no_v1=all systemd.unified_cgroup_hierarchy=0", { unifiedCgroupHierarchy: true }],
    [
      "console=ttyS0 agent.devmode agent.debug_console agent.container_pipe_size=100 systemd.unified_cgroup_hierarchy=true quiet",
      { devMode: true, debugConsole: true, containerPipeSize: 100, unifiedCgroupHierarchy: true },
    ],
  ];
  test.each(cases)("%p", (text, want) => {
    const r = parseCmdline(text);
    expect(r.problems).toEqual([]);
    expect(fields(r.config)).toEqual({ ...defaults, ...want });
    expect(r.config.source).toEqual({ kind: "cmdline", cmdlinePath: "/proc/cmdline", envOverrides: [] });
    expect(r.configFile).toBeUndefined();
  });

  test("devmode does not imply debug logging (Kata v4 Rust agent; the old Go agent did)", () => {
    expect(parseCmdline("agent.devmode").config.logLevel).toBe(Level.Info);
  });
});

describe("bad values: a problem naming the option and value; the default is kept", () => {
  const cases: [string, string, Partial<Fields>][] = [
    ["agent.log=loud", '/proc/cmdline: agent.log: "loud" is not a log level', {}],
    ["agent.log=", '/proc/cmdline: agent.log: "" is not a log level', {}],
    ["agent.log", "/proc/cmdline: agent.log: needs a value (agent.log=<level>)", {}],
    ["agent.log=debug agent.log=loud", 'agent.log: "loud" is not a log level', { logLevel: Level.Debug }],
    ["agent.trace=foo", 'agent.trace: "foo" is not a boolean', {}],
    ["agent.trace=.", 'agent.trace: "." is not a boolean', {}],
    ["agent.debug_console=maybe", 'agent.debug_console: "maybe" is not a boolean', {}],
    ["systemd.unified_cgroup_hierarchy=a", 'systemd.unified_cgroup_hierarchy: "a" is not a boolean', {}],
    ["agent.unified_cgroup_hierarchy=-1", 'agent.unified_cgroup_hierarchy: "-1" is not a boolean', {}],
    ["agent.hotplug_timeout=0", 'agent.hotplug_timeout: "0" must be greater than zero', {}],
    ["agent.hotplug_timeout=-1", 'agent.hotplug_timeout: "-1" is not a whole number of seconds or a Go duration', {}],
    ["agent.hotplug_timeout=j", 'agent.hotplug_timeout: "j" is not a whole number of seconds or a Go duration', {}],
    ["agent.hotplug_timeout", "agent.hotplug_timeout: needs a value", {}],
    ["agent.debug_console_vport=-5", 'agent.debug_console_vport: "-5" must not be negative', {}],
    ["agent.log_vport=x", 'agent.log_vport: "x" is not a port number', {}],
    ["agent.container_pipe_size=-1", 'agent.container_pipe_size: "-1" must not be negative', {}],
    ["agent.container_pipe_size=4294967296", 'agent.container_pipe_size: "4294967296" is too large', {}],
    ["agent.container_pipe_size=foobar", 'agent.container_pipe_size: "foobar" is not a number of bytes', {}],
    ["agent.server_addr=", 'agent.server_addr: "" is not a server address', {}],
    ["agent.server_addr=tcp://1.2.3.4:1", 'agent.server_addr: "tcp://1.2.3.4:1" is not a server address: the agent does not listen on tcp', {}],
    ["agent.config_file=", 'agent.config_file: "" is not a file path', {}],
  ];
  test.each(cases)("%p", (text, message, want) => {
    const r = parseCmdline(text);
    expect(r.problems.length).toBe(1);
    expect(r.problems[0]!.message).toContain(message);
    expect(r.problems[0]!.message).toEndWith("; ignored");
    expect(fields(r.config)).toEqual({ ...defaults, ...want });
  });

  test("problem carries origin, key and value", () => {
    const [p] = parseCmdline("agent.log=loud", "/tmp/cmdline").problems;
    expect(p).toMatchObject({ origin: "/tmp/cmdline", key: "agent.log", value: "loud" });
    expect(p!.message).toStartWith('/tmp/cmdline: agent.log: "loud" is not a log level (trace, debug');
  });

  test("good options around a bad one still apply", () => {
    const r = parseCmdline("agent.log=debug agent.hotplug_timeout=zzz agent.log_vport=1025");
    expect(r.problems.map((p) => p.key)).toEqual(["agent.hotplug_timeout"]);
    expect(r.config.logLevel).toBe(Level.Debug);
    expect(r.config.logVport).toBe(1025);
    expect(r.config.hotplugTimeoutMs).toBe(3000);
  });
});

describe("unknown and foreign tokens", () => {
  const cases: [string, string[]][] = [
    ["agent.debug_consolex", ["agent.debug_consolex: is not a known agent option"]],
    ["agent.logx=debug", ["agent.logx: is not a known agent option"]],
    ["agent.server_address=unix:///x", ["agent.server_address: is not a known agent option"]],
    ["agent.https_proxy=http://proxy:81/", ["agent.https_proxy: is a Kata option this agent does not implement"]],
    ["agent.mem_agent_enable=1", ["agent.mem_agent_enable: is a Kata option this agent does not implement"]],
    ["agent.cdh_api_timeout=50", ["agent.cdh_api_timeout: is a Kata option this agent does not implement"]],
    ["console=ttyS0 quiet trace .trace systemd.log_level=debug init=/sbin/init -- x=1", []],
  ];
  test.each(cases)("%p", (text, warnings) => {
    const r = parseCmdline(text);
    expect(r.problems).toEqual([]);
    expect(r.warnings.map((w) => w.message.replace("/proc/cmdline: ", "").replace(/; ignored$/, ""))).toEqual(warnings);
    expect(fields(r.config)).toEqual(defaults);
  });
});

describe("agent.config_file", () => {
  test("is returned for the loader, with the cmdline options parsed as usual", () => {
    const r = parseCmdline("agent.log=debug agent.config_file=/etc/agent.toml");
    expect(r.configFile).toBe("/etc/agent.toml");
    expect(r.config.logLevel).toBe(Level.Debug);
  });

  test("the first one wins, a different later one is a warning", () => {
    const r = parseCmdline("agent.config_file=/a.toml agent.config_file=/b.toml");
    expect(r.configFile).toBe("/a.toml");
    expect(r.warnings.map((w) => w.message)).toEqual([
      '/proc/cmdline: agent.config_file: "/b.toml" ignored: the first agent.config_file (/a.toml) wins',
    ]);
  });

  test("a value may contain '='", () => {
    expect(parseCmdline("agent.config_file=/x=y.toml").configFile).toBe("/x=y.toml");
  });
});
