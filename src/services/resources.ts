// Guest resource RPCs: CPU and memory hotplug (OnlineCPUMem, MemHotplugByProbe), swap
// (AddSwapPath), and the mem-agent settings. The hotplug code loads on the first call.
//
// The sysfs root is /sys; the environment variable KATA_AGENT_SYSFS names another one (tests run
// OnlineCPUMem against a fake tree).
import { EMPTY, type AgentHandlers, type ServiceDeps } from "./deps.ts";

const hotplug = () => import("../guest/hotplug.ts");
const sysfs = () => process.env.KATA_AGENT_SYSFS || "/sys";

export function resourceHandlers(d: ServiceDeps): AgentHandlers {
  return {
    OnlineCPUMem: async (r) => {
      const [{ onlineCpuMem }, { cpusetTargets }] = await Promise.all([hotplug(), import("../sandbox/cpuset-targets.ts")]);
      const env = { sysfs: sysfs(), log: d.log };
      const work = onlineCpuMem(env, { nbCpus: r.nb_cpus ?? 0, cpuOnly: !!r.cpu_only }, () => cpusetTargets(d.sandbox));
      if (r.wait) {
        await work;
      } else {
        // wait=false: the caller does not wait for the resources (proto: "connected asynchronously").
        work.catch((e: Error) => d.log.error("OnlineCPUMem (wait=false) failed", { error: e.message }));
      }
      return EMPTY;
    },
    MemHotplugByProbe: async (r) => {
      const { memHotplugByProbe } = await hotplug();
      await memHotplugByProbe({ sysfs: sysfs() }, (r.memHotplugProbeAddr ?? []).map((a) => BigInt(Math.trunc(a))));
      return EMPTY;
    },
    AddSwapPath: async (r) => {
      const { addSwapPath } = await import("../guest/swap.ts");
      await addSwapPath(r.path ?? "");
      return EMPTY;
    },
    MemAgentMemcgSet: async () => (await import("../guest/mem-agent.ts")).memAgentDisabled("MemAgentMemcgSet"),
    MemAgentCompactSet: async () => (await import("../guest/mem-agent.ts")).memAgentDisabled("MemAgentCompactSet"),
  };
}
