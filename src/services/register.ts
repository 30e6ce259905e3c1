// Registers grpc.Health and grpc.AgentService on the ttRPC server. Each area's file maps its
// requests to domain calls (containers.ts, sandbox.ts, guest.ts, …); errors become statuses in
// errors.ts. A method no area handles answers UNIMPLEMENTED naming it (typed.ts).
import { AgentService, HealthService, grpc } from "../gen/index.ts";
import type { TtrpcServer } from "../ttrpc/server.ts";
import { AGENT_VERSION, API_VERSION } from "../version.ts";
import type { AgentHandlers, ServiceDeps } from "./deps.ts";
import { containerHandlers } from "./containers.ts";
import { deviceHandlers } from "./devices.ts";
import { guestHandlers } from "./guest.ts";
import { metricsHandlers } from "./metrics.ts";
import { networkHandlers } from "./network.ts";
import { resourceHandlers } from "./resources.ts";
import { sandboxHandlers } from "./sandbox.ts";
import { storageHandlers } from "./storage.ts";
import { typedHandlers } from "./typed.ts";

export type { ServiceDeps } from "./deps.ts";

/** Every AgentService RPC the agent serves; the README's feature table mirrors this list. */
export function agentHandlers(d: ServiceDeps): AgentHandlers {
  const areas = [
    sandboxHandlers(d), containerHandlers(d), guestHandlers(d), networkHandlers(d), storageHandlers(d), resourceHandlers(d),
    metricsHandlers(d), deviceHandlers(d),
  ];
  const all: AgentHandlers = {};
  for (const area of areas) {
    for (const name of Object.keys(area)) {
      if (name in all) throw new Error(`two service areas handle ${name}`);
    }
    Object.assign(all, area);
  }
  return all;
}

export function registerServices(server: TtrpcServer, d: ServiceDeps): void {
  server.register(
    HealthService.name,
    typedHandlers(HealthService, {
      Check: () => ({ status: grpc.HealthCheckResponse.ServingStatus.SERVING }),
      Version: () => ({ grpc_version: API_VERSION, agent_version: AGENT_VERSION }),
    }),
  );
  server.register(AgentService.name, typedHandlers(AgentService, agentHandlers(d)));
}
