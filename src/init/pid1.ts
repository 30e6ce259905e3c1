// The rest of PID 1's start-up once the configuration is known: cgroups, /dev/ptmx, a new
// session, the hostname, devmode, the debug console (loaded on demand) and the log port.
// Returns the shutdown path: stop, sync, power off. PID 1 never exits: a fatal error is logged
// and the VM powered off.
import { existsSync, readFileSync, symlinkSync, rmSync, lstatSync } from "node:fs";
import type { AgentConfig } from "../config/types.ts";
import type { Logger } from "../log/logger.ts";
import { setHostname } from "../sys/host.ts";
import { allowCoreDumps, newSession, powerOff, setDumpable, syncAll } from "../sys/power.ts";
import { mountCgroups } from "./cgroups-mount.ts";
import { resetLayoutCache } from "../cgroups/detect.ts";
import { LogBuffer, startLogPort } from "./log-port.ts";
import { stdoutSink } from "../log/logger.ts";

/**
 * `early` holds the lines logged before the configuration was read (in init mode nothing is
 * written until we know whether they belong on the log port or on stdout).
 */
export async function guestInit(config: AgentConfig, log: Logger, early: LogBuffer): Promise<() => Promise<void>> {
  const ilog = log.child({ subsystem: "init" });
  const step = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      ilog.error(`${what} failed`, { error: (e as Error).message });
    }
  };
  step("mount cgroups", () => {
    mountCgroups(config.unifiedCgroupHierarchy, ilog);
    resetLayoutCache();
  });
  step("/dev/ptmx link", () => {
    const st = lstatSync("/dev/ptmx", { throwIfNoEntry: false });
    if (!st?.isSymbolicLink()) {
      rmSync("/dev/ptmx", { force: true });
      symlinkSync("pts/ptmx", "/dev/ptmx");
    }
  });
  step("setsid", newSession);
  try {
    const { bringUpLoopback } = await import("../network/localhost.ts");
    bringUpLoopback();
  } catch (e) {
    ilog.error("lo up failed", { error: (e as Error).message });
  }
  step("hostname", () => {
    const name = existsSync("/etc/hostname") ? readFileSync("/etc/hostname", "utf8").trim() : "";
    setHostname(name || "localhost");
  });
  if (config.devMode) {
    step("devmode core dumps", () => {
      allowCoreDumps();
      setDumpable(true);
    });
  }
  let toPort = false;
  if (config.logVport > 0) {
    step("log vport", () => {
      startLogPort(config.logVport, log, ilog, early);
      toPort = true;
    });
  }
  if (!toPort) {
    log.setSink(stdoutSink);
    for (const line of early.drain()) stdoutSink(line);
  }
  if (config.debugConsole || config.debugConsoleVport > 0) {
    // Loaded only when asked for: it brings the launcher's modules, which would otherwise be
    // evaluated before "ready" on every boot.
    try {
      const { startDebugConsole } = await import("./debug-console.ts");
      startDebugConsole(config.debugConsoleVport, ilog);
    } catch (e) {
      ilog.error("debug console failed", { error: (e as Error).message });
    }
  }
  // PID 1 must never die: whatever escapes is logged and the VM powered off cleanly.
  process.on("uncaughtException", (e) => fatal(ilog, e));
  process.on("unhandledRejection", (e) => fatal(ilog, e));
  return async () => {
    ilog.info("powering off");
    syncAll();
    await Bun.sleep(50); // let the last log lines leave
    powerOff();
  };
}

function fatal(log: Logger, e: unknown): void {
  log.critical("fatal error in PID 1, powering off", { error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
  try {
    syncAll();
    powerOff();
  } catch {
    // Nothing left to do: the kernel would panic if PID 1 exited, so wait forever.
  }
}
