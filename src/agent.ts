// The agent's start-up, in Kata's order (see src/init/ for the PID 1 parts): early mounts when
// PID 1, then the configuration, logging, cgroups, reaping, the ttRPC server, and shutdown.
import { loadConfig } from "./config/index.ts";
import { Level, levelName, log } from "./log/logger.ts";
import { versionLine } from "./version.ts";
import { TtrpcServer } from "./ttrpc/server.ts";
import { Code, RpcError } from "./ttrpc/status.ts";
import { IdleCollector } from "./idle-gc.ts";
import { installReaper } from "./sys/reaper.ts";
import { Sandbox } from "./sandbox/sandbox.ts";
import { HEALTH_SERVICE, registerServicesLazily } from "./services/boot.ts";
import { chooseVersion } from "./cgroups/detect.ts";
import { isMethodAllowed, requestNameForMethod } from "./config/index.ts";
import type { AgentConfig } from "./config/types.ts";
import { AgentStats } from "./metrics/agent-stats.ts";


export async function agentMain(argv: string[]): Promise<void> {
  if (argv.includes("--version") || argv.includes("-V")) {
    console.log(versionLine());
    return;
  }
  const initMode = process.pid === 1;
  // As PID 1, hold every line until the configuration says where logs go (log port or stdout).
  let early: import("./init/log-port.ts").LogBuffer | undefined;
  if (initMode) {
    const { LogBuffer } = await import("./init/log-port.ts");
    const buffer = new LogBuffer();
    early = buffer;
    log.setSink((line) => buffer.push(line));
    const { earlyInit } = await import("./init/early.ts");
    earlyInit(log.child({ subsystem: "init" }));
  }
  const loaded = loadConfig({ argv, env: process.env, initMode });
  if (loaded.fatal) {
    for (const p of loaded.problems) process.stderr.write(`kata-agent: ${p.message}\n`);
    process.exit(2);
  }
  const config = loaded.config;
  // devmode means debug logging (our issue asks for it; Kata's Go agent did the same).
  log.setLevel(config.devMode && config.logLevel > Level.Debug ? Level.Debug : config.logLevel);
  for (const p of loaded.problems) log.error("bad configuration value, using the default", { problem: p.message });
  for (const w of loaded.warnings) log.warn("configuration", { warning: w.message });
  log.info("starting kata-agent", { config: summary(config), init: initMode });

  let stopGuest: (() => Promise<void>) | undefined;
  if (initMode) {
    const { guestInit } = await import("./init/pid1.ts");
    stopGuest = await guestInit(config, log, early!);
  }
  // The reaper (subreaper, SIGCHLD handler) is installed before the first call that is not a
  // Health call, or once the first answer is out, or after 100 ms, whichever comes first: only
  // calls make children, and installReaper reaps what exited before it. That keeps it off the
  // path to the first Check's answer (start-to-ready −0.12 to −0.24 ms, docs/PERFORMANCE.md).
  let reaperInstalled = false;
  const startReaper = () => {
    if (reaperInstalled) return;
    reaperInstalled = true;
    clearTimeout(reaperTimer);
    installReaper(log.child({ subsystem: "signals" }));
  };
  const reaperTimer = setTimeout(startReaper, 100);

  // Decided when the first container is made (init mode has mounted the cgroups by then), not at
  // start-up: reading mountinfo was ~0.6 ms of "ready".
  const cgroupVersion = () => chooseVersion(config.unifiedCgroupHierarchy);
  // Uevents are recorded from just after start-up on (Kata's watch_uevents): the listener starts
  // once the first answer is out (or after 100 ms, or on the first device RPC), so opening it does
  // not delay "ready"; waits for devices also check sysfs for what came before it. Its module is
  // imported once the server listens; a kick before that is kept.
  let kicked = false;
  let uevents: { kick(): void } = { kick: () => void (kicked = true) };
  const sandbox = new Sandbox({ log: log.child({ subsystem: "sandbox" }), cgroupVersion, pipeSize: config.containerPipeSize, ownsMachine: initMode, hotplugTimeoutMs: config.hotplugTimeoutMs });
  const rpcLog = log.child({ subsystem: "rpc" });
  const timed = (what: string, f: () => void) => () => {
    const t0 = performance.now();
    f();
    if (log.enabled(Level.Debug)) log.debug(what, { duration_ms: Number((performance.now() - t0).toFixed(3)) });
  };
  const idle = new IdleCollector({
    collect: timed("idle garbage collection", () => Bun.gc(true)),
    shrink: timed("idle shrink (JIT code and caches dropped)", () => (Bun.gc(true), Bun.shrink())),
  });
  const stats = new AgentStats();
  let warmed = false;
  const server = new TtrpcServer({
    log: rpcLog,
    onCall: (ctx) => {
      if (ctx.service !== HEALTH_SERVICE) startReaper();
      if (isMethodAllowed(config, ctx.service, ctx.method)) return undefined;
      return new RpcError(Code.UNIMPLEMENTED, `${requestNameForMethod(ctx.method)} is blocked by the [endpoints] allowed list`);
    },
    onDone: (ctx, code, ms) => {
      idle.callDone();
      // The first answer is out: load what later calls need (reaper, services, uevent listener) while
      // the client reads it, instead of before "ready".
      if (!warmed) (warmed = true), setImmediate(() => (startReaper(), services.warm()));
      uevents.kick();
      stats.recordCall(`${ctx.service}/${ctx.method}`, code);
      if (rpcLog.enabled(Level.Debug)) rpcLog.debug("rpc", { method: `${ctx.service}/${ctx.method}`, status: code, duration_ms: Number(ms.toFixed(3)) });
    },
  });
  stats.connections = () => server.connectionCount;
  let shuttingDown = false;
  const shutdown = async (why: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info("shutting down", { reason: why });
    await server.close().catch(() => {});
    if (stopGuest) await stopGuest();
    else process.exit(0);
  };
  const services = registerServicesLazily(server, {
    sandbox, log: rpcLog, ownsMachine: initMode, hotplugTimeoutMs: config.hotplugTimeoutMs, stats,
    // The answer is on its way: give its client up to half a second to read it and hang up
    // before the server closes (as PID 1: before the power-off), so the caller sees the result.
    onDestroySandbox: () => void clientsGone(server, 500).then(() => shutdown("DestroySandbox")),
  });
  await server.listen(config.serverAddr);
  log.info("agent ready", { server_addr: config.serverAddr });
  void import("./device/uevent-listener.ts").then(({ armUeventListener }) => {
    uevents = armUeventListener(log.child({ subsystem: "uevent" }), 100);
    if (kicked) uevents.kick();
  });
  if (!initMode) {
    // A standalone agent asked to stop leaves nothing behind: containers are removed (processes
    // killed, cgroups and mounts gone) exactly as DestroySandbox does, then it exits.
    let stopping = false;
    const onSignal = (signal: string) => async () => {
      if (stopping) return;
      stopping = true;
      log.info("stopping on signal: destroying the sandbox", { signal });
      await sandbox.destroy().catch((error) => log.error("destroying the sandbox on a signal failed", { signal, error }));
      await shutdown(signal);
    };
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void onSignal(signal)());
  }
}

/** Resolves once no client is connected, or after ms. */
async function clientsGone(server: TtrpcServer, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (server.connectionCount > 0 && Date.now() < end) await Bun.sleep(10);
}

function summary(c: AgentConfig): Record<string, unknown> {
  return {
    server_addr: c.serverAddr, log_level: levelName(c.logLevel), dev_mode: c.devMode, debug_console: c.debugConsole,
    debug_console_vport: c.debugConsoleVport, log_vport: c.logVport, container_pipe_size: c.containerPipeSize,
    unified_cgroup_hierarchy: c.unifiedCgroupHierarchy, hotplug_timeout_ms: c.hotplugTimeoutMs, source: c.source,
  };
}
