// The services as the agent registers them at start-up, without loading the protobuf runtime,
// the generated types or any service area (~2 ms of module evaluation, bench/: start-to-ready):
// grpc.Health/Check with an empty request (what the runtime polls with until the agent is up) is
// answered with its fixed bytes; anything else loads the full tables (register.ts) first, on the
// first such call or on warm(), which the agent calls once its first answer is out.
import type { Handler, TtrpcServer } from "../ttrpc/server.ts";
import type { ServiceDeps } from "./deps.ts";

/** The services' wire names (src/gen: HealthService.name, AgentService.name; a unit test checks). */
export const HEALTH_SERVICE = "grpc.Health";
export const AGENT_SERVICE = "grpc.AgentService";
/** HealthCheckResponse{status: SERVING}: field 1, varint 1. */
export const SERVING_ANSWER: readonly number[] = [0x08, 0x01];

export function registerServicesLazily(server: TtrpcServer, d: ServiceDeps): { warm(): void } {
  let tables: ReturnType<typeof import("./register.ts").serviceTables> | undefined;
  // require, not import(): the first call that needs them is answered in the same turn.
  const load = () => (tables ??= (require("./register.ts") as typeof import("./register.ts")).serviceTables(d));
  const health: Record<string, Handler> = {
    Check: (payload, ctx) => (payload.length === 0 ? new Uint8Array(SERVING_ANSWER) : load().health.Check!(payload, ctx)),
    Version: (payload, ctx) => load().health.Version!(payload, ctx),
  };
  server.register(HEALTH_SERVICE, health);
  server.registerLazy(AGENT_SERVICE, () => load().agent);
  return { warm: () => void server.lookup(AGENT_SERVICE) };
}
