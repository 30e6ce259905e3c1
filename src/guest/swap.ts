// AddSwapPath: `swapon <path>` (Kata calls swapon(2) on the path the runtime names; the Go runtime
// uses it for a swap file it placed in the guest). The swapon binary is /sbin/swapon; the
// environment variable KATA_AGENT_SWAPON names another one (tests).
import { AgentError, invalid } from "../errors.ts";
import { runProgram } from "../sys/run-program.ts";

const SWAPON_TIMEOUT_MS = 30_000;

export function swaponPath(env: Record<string, string | undefined> = process.env): string {
  return env.KATA_AGENT_SWAPON || "/sbin/swapon";
}

export async function addSwapPath(path: string, swapon = swaponPath()): Promise<void> {
  if (!path) throw invalid("AddSwapPath: path is empty");
  if (!path.startsWith("/")) throw invalid(`AddSwapPath: path ${JSON.stringify(path)} is not absolute`);
  let r;
  try {
    r = await runProgram(swapon, [path], { timeoutMs: SWAPON_TIMEOUT_MS, maxOutput: 4096 });
  } catch (e) {
    throw new AgentError("internal", `AddSwapPath ${path}: cannot run ${swapon}: ${(e as Error).message}`);
  }
  if (r.code !== 0) {
    const how = r.timedOut ? "timed out" : `exit code ${r.code}`;
    throw new AgentError("internal", `AddSwapPath ${path}: ${swapon} ${how}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
}
