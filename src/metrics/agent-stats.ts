// The agent's own counters for GetMetrics (kata_agent_ts_*): RPCs by method and status code,
// and ttRPC connections. Fed by the server's onDone hook (src/agent.ts); tiny and loaded at start.
import { codeName } from "../ttrpc/status.ts";

export class AgentStats {
  private readonly calls = new Map<string, number>();
  /** Live ttRPC connections (set to the server's count once the server exists). */
  connections: () => number = () => 0;

  recordCall(method: string, code: number): void {
    const key = `${method}\u0000${codeName(code)}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  /** [method, code name, count], in no particular order. */
  callCounts(): [string, string, number][] {
    return [...this.calls].map(([k, n]) => {
      const [method, code] = k.split("\u0000") as [string, string];
      return [method, code, n];
    });
  }
}
