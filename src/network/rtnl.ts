// The rtnetlink operations the network RPCs are made of, one kernel request each, over the agent's
// NETLINK_ROUTE socket. Errors are NetlinkErrors naming the request ("RTM_NEWADDR 10.0.0.2/24 on
// eth0: EEXIST").
import { routeSocket } from "../sys/netlink.ts";
import { formatIP, type Family } from "./ip.ts";
import { decodeAddress, decodeLink, decodeRoute, type AddressInfo, type LinkInfo, type RouteInfo } from "./rtnl-decode.ts";
import {
  AF_INET, AF_INET6, delAddress, dumpAddresses, dumpLinks, dumpRoutes, newAddress, newNeighbour, newRoute, setLink,
  type AddressSpec, type LinkChange, type NeighbourSpec, type RouteSpec,
} from "./rtnl-encode.ts";

export function listLinks(): LinkInfo[] {
  return routeSocket().request(dumpLinks(), "RTM_GETLINK dump").map(decodeLink).filter((l): l is LinkInfo => l !== null);
}

export function linkByName(name: string): LinkInfo | undefined {
  return listLinks().find((l) => l.name === name);
}

export function linkByIndex(index: number): LinkInfo | undefined {
  return listLinks().find((l) => l.index === index);
}

export function changeLink(c: LinkChange, what: string): void {
  routeSocket().request(setLink(c), `RTM_SETLINK ${what}`);
}

export function listAddresses(index?: number): AddressInfo[] {
  const all = routeSocket().request(dumpAddresses(), "RTM_GETADDR dump").map(decodeAddress);
  return all.filter((a): a is AddressInfo => a !== null && (index === undefined || a.index === index));
}

const cidr = (a: { bytes: Uint8Array; prefix: number }) => `${formatIP(a.bytes)}/${a.prefix}`;

export function addAddress(a: AddressSpec, linkName: string): void {
  routeSocket().request(newAddress(a), `RTM_NEWADDR ${cidr(a)} on ${linkName}`);
}

export function removeAddress(a: AddressSpec, linkName: string): void {
  routeSocket().request(delAddress(a), `RTM_DELADDR ${cidr(a)} on ${linkName}`);
}

/** IPv4 then IPv6, one dump after the other (the kernel runs one dump per socket at a time). */
export function listRouteInfos(): RouteInfo[] {
  const out: RouteInfo[] = [];
  for (const [af, name] of [[AF_INET, "IPv4"], [AF_INET6, "IPv6"]] as const) {
    for (const m of routeSocket().request(dumpRoutes(af), `RTM_GETROUTE ${name} dump`)) {
      const r = decodeRoute(m);
      if (r) out.push(r);
    }
  }
  return out;
}

export function addRoute(r: RouteSpec, what: string): void {
  routeSocket().request(newRoute(r), `RTM_NEWROUTE ${what}`);
}

export function addNeighbour(n: NeighbourSpec, what: string): void {
  routeSocket().request(newNeighbour(n), `RTM_NEWNEIGH ${what}`);
}

export type { AddressInfo, LinkInfo, RouteInfo, Family };
