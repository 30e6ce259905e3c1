// The containers whose cpusets OnlineCPUMem widens after CPU hotplug: those whose spec has a
// Resources.CPU section (Kata: `linux.resources.cpu.cpus` present), with their cpuset location.
import type { CpusetTarget } from "../guest/hotplug.ts";
import type { Sandbox } from "./sandbox.ts";

export function cpusetTargets(sb: Sandbox): CpusetTarget[] {
  const out: CpusetTarget[] = [];
  for (const c of sb.containers.values()) {
    if (!c) continue; // still being created
    const cpu = c.spec.Linux?.Resources?.CPU;
    if (!cpu) continue;
    const at = c.cgroup.cpusetLocation();
    if (!at) continue;
    out.push({ id: c.id, root: at.root, dir: at.dir, cpus: cpu.Cpus ?? "" });
  }
  return out;
}
