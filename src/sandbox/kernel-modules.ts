// CreateSandboxRequest.kernel_modules: each module is loaded with `modprobe -v <name> <params…>`
// before the pod's namespaces are made, and a failure fails CreateSandbox, as in Kata
// (rpc.rs load_kernel_module). The modprobe binary is /sbin/modprobe; the environment variable
// KATA_AGENT_MODPROBE names another one (tests use a fake, since a test host cannot load modules).
import { AgentError, invalid } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { runProgram } from "../sys/run-program.ts";

export const DEFAULT_MODPROBE = "/sbin/modprobe";
const MODPROBE_TIMEOUT_MS = 60_000;

export interface KernelModule {
  name: string;
  parameters: string[];
}

export function modprobePath(env: Record<string, string | undefined> = process.env): string {
  return env.KATA_AGENT_MODPROBE || DEFAULT_MODPROBE;
}

/** Loads each module in order; the first failure throws (later modules are not tried). */
export async function loadKernelModules(modules: readonly KernelModule[], log: Logger, modprobe = modprobePath()): Promise<void> {
  modules.forEach((m, i) => {
    if (!m.name) throw invalid(`CreateSandbox: kernel_modules[${i}].name is empty`);
  });
  for (const m of modules) {
    log.info("load kernel module", { module: m.name, parameters: m.parameters });
    let r;
    try {
      r = await runProgram(modprobe, ["-v", m.name, ...m.parameters], { timeoutMs: MODPROBE_TIMEOUT_MS, maxOutput: 4096 });
    } catch (e) {
      throw new AgentError("internal", `CreateSandbox: load kernel module ${m.name}: cannot run ${modprobe}: ${(e as Error).message}`);
    }
    if (r.code === 0) continue;
    const how = r.timedOut ? `timed out after ${MODPROBE_TIMEOUT_MS / 1000} s` : r.code > 128 ? `killed by signal ${r.code - 128}` : `exit code ${r.code}`;
    throw new AgentError("internal",
      `CreateSandbox: load kernel module ${m.name}: ${modprobe} ${how}; stdout: ${r.stdout.trim()}; stderr: ${r.stderr.trim()}`);
  }
}
