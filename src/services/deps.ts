// What every service area gets: the sandbox, a logger and the agent's role. Each area file
// (containers.ts, sandbox.ts, guest.ts, network.ts, storage.ts, …) exports a function that takes
// these and returns typed handlers for its RPCs; register.ts merges them.
import type { AgentServiceTypes, ServiceHandlers } from "../gen/index.ts";
import type { Logger } from "../log/logger.ts";
import type { AgentStats } from "../metrics/agent-stats.ts";
import type { Sandbox } from "../sandbox/sandbox.ts";
import type { CallContext } from "../ttrpc/server.ts";
import type { EncodedParts } from "./typed.ts";

export interface ServiceDeps {
  sandbox: Sandbox;
  log: Logger;
  /** True when the agent is the guest's init (PID 1): it may set the clock, power off. */
  ownsMachine: boolean;
  /** agent.hotplug_timeout: how long to wait for a hot-plugged device (a NIC's PCI path, …). */
  hotplugTimeoutMs: number;
  /** The agent's own counters (RPCs, connections) for GetMetrics. */
  stats: AgentStats;
  /** Called after DestroySandbox answered: stop the server (and power off as PID 1). */
  onDestroySandbox: () => void;
}

/** Typed handlers for grpc.AgentService methods. A handler may also answer pre-encoded parts
 *  (ReadStdout/ReadStderr: container output is never copied in JavaScript). */
export type AgentHandlers = {
  [M in keyof ServiceHandlers<AgentServiceTypes, CallContext>]: (
    request: Parameters<NonNullable<ServiceHandlers<AgentServiceTypes, CallContext>[M]>>[0],
    ctx: CallContext,
  ) => ReturnType<NonNullable<ServiceHandlers<AgentServiceTypes, CallContext>[M]>> | EncodedParts | Promise<EncodedParts>;
};

/** The empty answer (google.protobuf.Empty). */
export const EMPTY = {};
