// Device RPCs: swap on a hot-plugged disk (AddSwapPath, swap on a file, is in resources.ts). The
// device lookup (src/device/) loads on the first call.
import { EMPTY, type AgentHandlers, type ServiceDeps } from "./deps.ts";

const swap = () => import("../device/swap.ts");

export function deviceHandlers(d: ServiceDeps): AgentHandlers {
  return {
    AddSwap: async (r) => {
      const path = await (await swap()).addSwap(r.PCIPath ?? [], d.hotplugTimeoutMs);
      d.log.info("swap enabled", { device: path });
      return EMPTY;
    },
  };
}
