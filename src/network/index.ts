// The network domain, loaded by src/services/network.ts on the first network RPC (dynamic import),
// so agent start-up never pays for it.
export { updateInterface, listInterfaces } from "./interface.ts";
export { bringUpLoopback } from "./localhost.ts";
export { updateRoutes, listRoutes } from "./routes.ts";
export { addArpNeighbors } from "./neighbours.ts";
export { getIPTables, setIPTables } from "./iptables.ts";
export type { InterfaceData, IPAddressData, NeighbourData, RouteData } from "./types.ts";
