// MemAgentMemcgSet / MemAgentCompactSet. Kata's mem-agent (src/mem-agent: PSI-driven memcg
// reclaim and proactive compaction) runs only when the guest's kernel command line has
// agent.mem_agent_enable; the runtime sends these calls only when its configuration enables it.
// This agent has no mem-agent, so it answers as Kata does with the feature off: INTERNAL
// "mem-agent is disabled".
import { AgentError } from "../errors.ts";

export function memAgentDisabled(rpc: "MemAgentMemcgSet" | "MemAgentCompactSet"): never {
  throw new AgentError("internal", `${rpc}: mem-agent is disabled`);
}
