// UpdateInterface's devicePath (Kata's wait_for_pci_net_interface): the network code waits here
// for the interface behind a guest PCI path, driven by the agent's uevent listener.
import { deviceHub } from "./uevent-listener.ts";
import { DeviceFinder } from "./devices.ts";

/** The name of the network interface at `pciPath` ("02/00"), once it exists; INVALID_ARGUMENT
 *  for a path that does not parse, DEADLINE_EXCEEDED naming it after timeoutMs. */
export function waitForPciNetInterface(pciPath: string, timeoutMs: number): Promise<string> {
  return new DeviceFinder(deviceHub()).pciNetInterface(pciPath, timeoutMs);
}
