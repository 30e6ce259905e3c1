// GetMetrics (scraped by kata-monitor): the collector loads on the first scrape.
import type { AgentHandlers, ServiceDeps } from "./deps.ts";

export function metricsHandlers(d: ServiceDeps): AgentHandlers {
  return {
    GetMetrics: async () => {
      const { gatherMetrics } = await import("../metrics/collect.ts");
      return { metrics: gatherMetrics({ stats: d.stats, containers: () => d.sandbox.containers.size, log: d.log }) };
    },
  };
}
