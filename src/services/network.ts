// Network RPCs: interfaces, routes, ARP neighbours, iptables. The domain (src/network) is imported
// on the first of these calls, not at start-up. Requests become plain data here; the protocol's
// IPFamily (v4=0, v6=1) becomes 4/6, and any other value is refused naming its field.
import type { types } from "../gen/index.ts";
import { invalid } from "../errors.ts";
import type { InterfaceData, IPAddressData, NeighbourData, RouteData } from "../network/types.ts";
import type { Family } from "../network/ip.ts";
import { EMPTY, type AgentHandlers, type ServiceDeps } from "./deps.ts";

const domain = () => import("../network/index.ts");

function family(v: number | null | undefined, field: string): Family {
  const f = v ?? 0;
  if (f === 0) return 4;
  if (f === 1) return 6;
  throw invalid(`${field}: unknown IP family ${f} (v4 = 0, v6 = 1)`);
}
const wireFamily = (f: Family) => (f === 4 ? 0 : 1);

function address(a: types.IIPAddress, field: string): IPAddressData {
  return { family: family(a.family, `${field}.family`), address: a.address ?? "", mask: a.mask ?? "" };
}

function toInterface(i: types.IInterface): InterfaceData {
  return {
    device: i.device ?? "", name: i.name ?? "", mtu: i.mtu ?? 0, hwAddr: i.hwAddr ?? "", devicePath: i.devicePath ?? "",
    type: i.type ?? "", rawFlags: i.raw_flags ?? 0,
    addresses: (i.IPAddresses ?? []).map((a, n) => address(a, `interface.IPAddresses[${n}]`)),
  };
}

function fromInterface(i: InterfaceData): types.IInterface {
  return {
    device: i.device, name: i.name, mtu: i.mtu, hwAddr: i.hwAddr, devicePath: i.devicePath, type: i.type, raw_flags: i.rawFlags,
    IPAddresses: i.addresses.map((a) => ({ family: wireFamily(a.family), address: a.address, mask: a.mask })),
  };
}

function toRoute(r: types.IRoute, n: number): RouteData {
  return {
    dest: r.dest ?? "", gateway: r.gateway ?? "", device: r.device ?? "", source: r.source ?? "", scope: r.scope ?? 0,
    family: family(r.family, `routes[${n}].family`), flags: r.flags ?? 0, mtu: r.mtu ?? 0,
  };
}

const fromRoute = (r: RouteData): types.IRoute => ({ ...r, family: wireFamily(r.family) });

function toNeighbour(a: types.IARPNeighbor, n: number): NeighbourData {
  return {
    ip: a.toIPAddress ? address(a.toIPAddress, `neighbors[${n}].toIPAddress`) : undefined,
    device: a.device ?? "", lladdr: a.lladdr ?? "", state: a.state ?? 0, flags: a.flags ?? 0,
  };
}

export function networkHandlers(d: ServiceDeps): AgentHandlers {
  const log = d.log.child({ subsystem: "network" });
  return {
    UpdateInterface: async (r) => {
      if (!r.interface) throw invalid("interface: missing");
      const req = toInterface(r.interface);
      if (req.device || req.type) log.debug("UpdateInterface: device and type are informational", { device: req.device, type: req.type });
      const net = await domain();
      return fromInterface(await net.updateInterface(req, { hotplugTimeoutMs: d.hotplugTimeoutMs, log }));
    },
    UpdateRoutes: async (r) => {
      if (!r.routes) throw invalid("routes: missing");
      const routes = (r.routes.Routes ?? []).map(toRoute);
      const net = await domain();
      return { Routes: net.updateRoutes(routes).map(fromRoute) };
    },
    ListInterfaces: async () => ({ Interfaces: (await domain()).listInterfaces().map(fromInterface) }),
    ListRoutes: async () => ({ Routes: (await domain()).listRoutes().map(fromRoute) }),
    AddARPNeighbors: async (r) => {
      const list = (r.neighbors?.ARPNeighbors ?? []).map(toNeighbour);
      (await domain()).addArpNeighbors(list);
      return EMPTY;
    },
    GetIPTables: async (r) => ({ data: await (await domain()).getIPTables(!!r.is_ipv6) }),
    SetIPTables: async (r) => ({ data: await (await domain()).setIPTables(!!r.is_ipv6, r.data ?? new Uint8Array(0)) }),
  };
}
