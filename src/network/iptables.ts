// GetIPTables / SetIPTables as Kata does them: run iptables-save (ip6tables-save) and
// `iptables-restore --wait 5` (ip6tables-restore) with the rules on stdin. The tools are looked
// for in /usr/sbin then /sbin; a guest image without them gets FAILED_PRECONDITION saying so.
import { existsSync } from "node:fs";
import { AgentError, invalid, precondition } from "../errors.ts";
import { runProgram } from "../sys/run-program.ts";

/** Kata's IPTABLES_RESTORE_WAIT_SEC: how long iptables-restore waits for the xtables lock. */
const RESTORE_WAIT_S = 5;
const RUN_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 64 << 20;

function tool(name: string, dirs = ["/usr/sbin", "/sbin"]): string {
  for (const d of dirs) if (existsSync(`${d}/${name}`)) return `${d}/${name}`;
  throw precondition(`${name} is not in the guest image (looked in ${dirs.join(" and ")})`);
}

export async function getIPTables(ipv6: boolean): Promise<Uint8Array> {
  const exe = tool(ipv6 ? "ip6tables-save" : "iptables-save");
  const r = await runProgram(exe, [], { timeoutMs: RUN_TIMEOUT_MS, maxOutput: MAX_OUTPUT });
  if (r.timedOut) throw new AgentError("deadline", `${exe} did not finish within ${RUN_TIMEOUT_MS / 1000} s`);
  if (r.code !== 0) throw new AgentError("internal", `${exe} exited ${r.code}: ${r.stderr.trim()}`);
  return new TextEncoder().encode(r.stdout);
}

export async function setIPTables(ipv6: boolean, rules: Uint8Array): Promise<Uint8Array> {
  const exe = tool(ipv6 ? "ip6tables-restore" : "iptables-restore");
  const r = await runProgram(exe, ["--wait", String(RESTORE_WAIT_S)], { stdin: rules, timeoutMs: RUN_TIMEOUT_MS, maxOutput: MAX_OUTPUT });
  if (r.timedOut) throw new AgentError("deadline", `${exe} did not finish within ${RUN_TIMEOUT_MS / 1000} s`);
  // iptables-restore exits 1 for rules it cannot parse or apply (nothing is committed then), 4 for
  // a resource problem such as the lock: the first is the request's fault.
  if (r.code === 1) throw invalid(`data: ${exe} refused the rules (exit 1): ${r.stderr.trim()}`);
  if (r.code !== 0) throw new AgentError("internal", `${exe} exited ${r.code}: ${r.stderr.trim()}`);
  return new TextEncoder().encode(r.stdout);
}
