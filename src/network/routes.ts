// UpdateRoutes and ListRoutes like Kata: every route is checked first (family, addresses, device)
// so bad input changes nothing; then routes without a gateway go in before those with one (a
// gateway must be reachable through an on-link route when its route is added), each one created
// or replaced in the main table with protocol "boot"; EEXIST is not an error. The answer is the
// main table as the kernel now has it.
import { invalid } from "../errors.ts";
import { formatIP, type Family } from "./ip.ts";
import { RT_TABLE_MAIN, type RouteSpec } from "./rtnl-encode.ts";
import * as rtnl from "./rtnl.ts";
import type { RouteData } from "./types.ts";
import { checkCIDR, checkIP, checkMtu, checkRange } from "./validate.ts";

const EEXIST = 17;

function plan(r: RouteData, field: string, links: rtnl.LinkInfo[]): RouteSpec {
  if (!r.device) throw invalid(`${field}.device: empty (every route needs its output device)`);
  const link = links.find((l) => l.name === r.device);
  if (!link) throw invalid(`${field}.device "${r.device}": no such link in the guest`);
  const family: Family = r.family;
  const zero = new Uint8Array(family === 4 ? 4 : 16);
  const dest = r.dest ? checkCIDR(r.dest, family, `${field}.dest`) : { bytes: zero, prefix: 0 };
  const spec: RouteSpec = {
    family, dest: dest.bytes, destPrefix: dest.prefix, oif: link.index, scope: r.scope, flags: r.flags, mtu: r.mtu,
  };
  if (r.gateway) spec.gateway = checkIP(r.gateway, family, `${field}.gateway`);
  if (r.source) {
    // A plain address (what the Go runtime sends) is the preferred source; "ip/len" with len > 0
    // is a source prefix (RTA_SRC), as Kata reads it.
    const s = checkCIDR(r.source, family, `${field}.source`);
    if (s.hadPrefix && s.prefix > 0) spec.src = { bytes: s.bytes, prefix: s.prefix };
    else spec.prefSrc = s.bytes;
  }
  checkRange(r.scope, 255, `${field}.scope`);
  checkRange(r.flags, 0xffffffff, `${field}.flags`);
  checkMtu(r.mtu, `${field}.mtu`);
  return spec;
}

const describe = (r: RouteData) =>
  `${r.dest || "default"}${r.gateway ? ` via ${r.gateway}` : ""} dev ${r.device}${r.source ? ` src ${r.source}` : ""}`;

export function updateRoutes(routes: RouteData[]): RouteData[] {
  const links = rtnl.listLinks();
  const planned = routes.map((r, i) => ({ r, i, spec: plan(r, `routes[${i}]`, links) }));
  const ordered = [...planned.filter((p) => !p.r.gateway), ...planned.filter((p) => p.r.gateway)];
  const done: number[] = [];
  for (const p of ordered) {
    try {
      rtnl.addRoute(p.spec, `routes[${p.i}] ${describe(p.r)}`);
    } catch (e) {
      if ((e as { errno?: number }).errno !== EEXIST) {
        const applied = done.length ? `routes [${done.join(", ")}] were added before it and stay` : "no route was changed";
        const err = new Error(`${(e as Error).message}; ${applied}`) as Error & { kind?: unknown };
        err.kind = (e as { kind?: unknown }).kind;
        throw err;
      }
    }
    done.push(p.i);
  }
  return listRoutes();
}

/** The main table (Kata lists only that one), IPv4 then IPv6. */
export function listRoutes(): RouteData[] {
  const names = new Map(rtnl.listLinks().map((l) => [l.index, l.name]));
  return rtnl.listRouteInfos()
    .filter((r) => r.table === RT_TABLE_MAIN)
    .map((r) => ({
      dest: r.dest && r.destPrefix > 0 ? `${formatIP(r.dest)}/${r.destPrefix}` : "",
      gateway: r.gateway ? formatIP(r.gateway) : "",
      device: r.oif !== undefined ? (names.get(r.oif) ?? "") : "",
      source: r.prefSrc ? formatIP(r.prefSrc) : r.src ? `${formatIP(r.src)}/${r.srcPrefix}` : "",
      scope: r.scope,
      family: r.family,
      flags: r.flags,
      mtu: r.mtu,
    }));
}
