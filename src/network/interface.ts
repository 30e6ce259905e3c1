// UpdateInterface and ListInterfaces, in Kata's order: with devicePath, wait for that NIC (and give
// it the requested MAC, Kata's VFIO case); find the link by MAC (a miss says
// "Link not found", which the Go runtime's retry loop looks for), take it down, make its addresses
// exactly the requested ones, rename it (a link already holding the name is moved aside to
// "<name>_temp" and given our old name afterwards), set MTU and ARP, bring it up, and answer what
// the kernel now reports. A failure midway rolls the link back and the error says whether that
// worked, so a link is never left between old and new without the caller being told.
import { readFileSync } from "node:fs";
import { invalid, notFound } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { formatIP, formatMAC, parseMAC, sameBytes, type Family } from "./ip.ts";
import { IFF_NOARP, IFF_UP, RTNH_F_ONLINK, RTN_UNICAST, RTPROT_KERNEL, RT_TABLE_MAIN } from "./rtnl-encode.ts";
import * as rtnl from "./rtnl.ts";
import type { IPAddressData, InterfaceData } from "./types.ts";
import { checkAddress, checkLinkName, checkMtu } from "./validate.ts";

/** The devices area's uevent-driven wait (Kata's wait_for_pci_net_interface), loaded when needed. */
async function waitForPciNetInterface(devicePath: string, timeoutMs: number): Promise<string> {
  const { waitForPciNetInterface: wait } = await import("../device/net-wait.ts");
  return wait(devicePath, timeoutMs);
}

interface Addr {
  family: Family;
  bytes: Uint8Array;
  prefix: number;
}

export interface UpdateInterfaceOptions {
  hotplugTimeoutMs: number;
  log: Logger;
  /** Waits for the NIC at a PCI path; resolves with its name. Default: the devices area's uevent wait. */
  waitForDevice?: (devicePath: string, timeoutMs: number) => Promise<string>;
  /** Whether the guest's IPv6 stack is on (default: read /proc/sys/net/ipv6). */
  ipv6Enabled?: () => boolean;
}

/** Kata's rule: IPv6 is usable when either conf/all or conf/default has disable_ipv6 = 0. */
export function ipv6Enabled(): boolean {
  const on = (which: string) => {
    try {
      return readFileSync(`/proc/sys/net/ipv6/conf/${which}/disable_ipv6`, "utf8").trim() === "0";
    } catch {
      return false; // no IPv6 in this kernel
    }
  };
  return on("all") || on("default");
}

const isLinkLocal6 = (a: Addr) => a.family === 6 && a.bytes[0] === 0xfe && (a.bytes[1]! & 0xc0) === 0x80;
const sameAddr = (a: Addr, b: Addr) => a.family === b.family && a.prefix === b.prefix && sameBytes(a.bytes, b.bytes);
const cidr = (a: Addr) => `${formatIP(a.bytes)}/${a.prefix}`;

export async function updateInterface(req: InterfaceData, o: UpdateInterfaceOptions): Promise<InterfaceData> {
  const mac = parseMAC(req.hwAddr);
  if (!mac) throw invalid(`interface.hwAddr "${req.hwAddr}": not a MAC address (aa:bb:cc:dd:ee:ff)`);
  checkLinkName(req.name, "interface.name");
  checkMtu(req.mtu, "interface.mtu");
  const requested = req.addresses.map((a, i) => checkAddress(a, `interface.IPAddresses[${i}]`));
  if (req.devicePath) {
    const netdev = await (o.waitForDevice ?? waitForPciNetInterface)(req.devicePath, o.hotplugTimeoutMs);
    reconcileMac(netdev, mac, req, o.log);
  }

  const link = rtnl.listLinks().find((l) => sameBytes(l.mac, mac));
  if (!link) throw notFound(`Link not found (hwAddr ${req.hwAddr})`);
  const v6 = (o.ipv6Enabled ?? ipv6Enabled)();
  const wanted = requested.filter((a) => a.family === 4 || v6);
  if (wanted.length < requested.length) {
    o.log.warn("IPv6 is disabled in the guest: IPv6 addresses of the interface are not added", {
      interface: req.name, skipped: requested.filter((a) => a.family === 6).map(cidr),
    });
  }
  const before = { addresses: rtnl.listAddresses(link.index) as Addr[], other: undefined as rtnl.LinkInfo | undefined };
  const undo: (() => void)[] = [restoreRoutes(link)];
  try {
    apply(link, req, wanted, before, undo);
  } catch (e) {
    throw withRollback(e as Error, link.name, undo);
  }
  return readBack(link.index, req);
}

/**
 * Kata's VFIO case: a passed-through NIC shows its physical MAC, not the one the runtime chose, so
 * the NIC found at devicePath is given the requested MAC before the lookup by MAC. A failure is
 * logged and the lookup decides (as Kata does).
 */
function reconcileMac(netdev: string, mac: Uint8Array, req: InterfaceData, log: Logger): void {
  const link = rtnl.linkByName(netdev);
  if (!link || sameBytes(link.mac, mac)) return;
  try {
    if (link.flags & IFF_UP) rtnl.changeLink({ index: link.index, flags: 0, change: IFF_UP }, `${netdev} down`);
    rtnl.changeLink({ index: link.index, address: mac }, `${netdev} address ${req.hwAddr}`);
    if (link.flags & IFF_UP) rtnl.changeLink({ index: link.index, flags: IFF_UP, change: IFF_UP }, `${netdev} up`);
    log.info("set the MAC of the NIC at devicePath to the requested one", { device_path: req.devicePath, netdev, from: formatMAC(link.mac), to: req.hwAddr });
  } catch (e) {
    log.warn("could not set the MAC of the NIC at devicePath; looking the link up by MAC anyway", { device_path: req.devicePath, netdev, error: (e as Error).message });
  }
}

function apply(link: rtnl.LinkInfo, req: InterfaceData, wanted: Addr[], before: { addresses: Addr[]; other?: rtnl.LinkInfo }, undo: (() => void)[]): void {
  const restoreFlags = { index: link.index, flags: link.flags & (IFF_UP | IFF_NOARP), change: IFF_UP | IFF_NOARP };
  if (link.flags & IFF_UP) {
    rtnl.changeLink({ index: link.index, flags: 0, change: IFF_UP }, `${link.name} down`);
  }
  undo.push(() => rtnl.changeLink(restoreFlags, `${link.name} flags back`));

  for (const old of before.addresses) {
    if (isLinkLocal6(old) || wanted.some((w) => sameAddr(w, old))) continue;
    rtnl.removeAddress({ index: link.index, ...old }, link.name);
    undo.push(() => rtnl.addAddress({ index: link.index, ...old }, link.name));
  }
  for (const a of wanted) {
    const existed = before.addresses.some((b) => sameAddr(a, b));
    rtnl.addAddress({ index: link.index, ...a }, link.name);
    if (!existed) undo.push(() => rtnl.removeAddress({ index: link.index, ...a }, link.name));
  }

  let other: rtnl.LinkInfo | undefined;
  if (link.name !== req.name) {
    other = rtnl.linkByName(req.name);
    if (other) {
      const temp = `${req.name.slice(0, 10)}_temp`;
      const o = other;
      if (o.flags & IFF_UP) rtnl.changeLink({ index: o.index, flags: 0, change: IFF_UP }, `${o.name} down`);
      rtnl.changeLink({ index: o.index, name: temp }, `rename ${o.name} to ${temp}`);
      undo.push(() => rtnl.changeLink({ index: o.index, name: o.name, flags: o.flags & IFF_UP, change: IFF_UP }, `rename ${temp} back to ${o.name}`));
    }
  }
  const arpOff = req.rawFlags & IFF_NOARP ? IFF_NOARP : 0;
  rtnl.changeLink(
    {
      index: link.index,
      name: link.name !== req.name ? req.name : undefined,
      mtu: req.mtu || undefined,
      flags: IFF_UP | arpOff,
      change: IFF_UP | IFF_NOARP,
    },
    `${link.name}: name ${req.name}, mtu ${req.mtu || link.mtu}, ${arpOff ? "noarp" : "arp"}, up`,
  );
  undo.push(() =>
    rtnl.changeLink({ index: link.index, name: link.name, mtu: link.mtu || undefined, flags: 0, change: IFF_UP }, `${req.name}: back to ${link.name}, mtu ${link.mtu}, down`),
  );
  // The link that had our name takes our old one (Kata swaps the names) and keeps its up/down state.
  if (other) {
    rtnl.changeLink({ index: other.index, name: link.name, flags: other.flags & IFF_UP, change: IFF_UP }, `rename ${req.name.slice(0, 10)}_temp to ${link.name}`);
  }
}

/**
 * Taking the link down drops the routes through it; the kernel's own (proto kernel) come back with
 * the addresses, the others (a default route via a gateway, ...) are saved here and put back by
 * the last undo step, so a rolled-back link keeps its routes too.
 */
function restoreRoutes(link: rtnl.LinkInfo): () => void {
  const saved = rtnl.listRouteInfos().filter((r) =>
    r.oif === link.index && r.table === RT_TABLE_MAIN && r.type === RTN_UNICAST && r.protocol !== RTPROT_KERNEL);
  return () => {
    for (const r of saved) {
      const dest = r.dest ?? new Uint8Array(r.family === 4 ? 4 : 16);
      rtnl.addRoute({
        family: r.family, dest, destPrefix: r.destPrefix, oif: link.index, gateway: r.gateway, prefSrc: r.prefSrc,
        src: r.src ? { bytes: r.src, prefix: r.srcPrefix } : undefined, scope: r.scope, flags: r.flags & RTNH_F_ONLINK, mtu: r.mtu,
        protocol: r.protocol,
      }, `restore route ${r.dest ? `${formatIP(r.dest)}/${r.destPrefix}` : "default"} on ${link.name}`);
    }
  };
}

/** Runs the undo steps newest first; the error tells whether the link is back as it was. */
function withRollback(e: Error, name: string, undo: (() => void)[]): Error {
  const failed: string[] = [];
  for (const step of undo.reverse()) {
    try {
      step();
    } catch (u) {
      failed.push((u as Error).message);
    }
  }
  const note = failed.length === 0
    ? `link ${name} was restored to its previous state`
    : `link ${name} could NOT be fully restored (${failed.join("; ")}): it is partly configured`;
  const out = new Error(`${e.message}; ${note}`) as Error & { kind?: unknown };
  out.kind = (e as { kind?: unknown }).kind ?? "internal";
  return out;
}

function readBack(index: number, req: InterfaceData): InterfaceData {
  const link = rtnl.linkByIndex(index);
  if (!link) throw notFound(`Link not found (index ${index}, ${req.name}): it disappeared while being configured`);
  return describe(link, rtnl.listAddresses(index), { device: req.device, devicePath: req.devicePath });
}

function describe(link: rtnl.LinkInfo, addrs: rtnl.AddressInfo[], extra: { device: string; devicePath: string }): InterfaceData {
  const addresses: IPAddressData[] = addrs.map((a) => ({ family: a.family, address: formatIP(a.bytes), mask: String(a.prefix) }));
  return {
    device: extra.device, name: link.name, addresses, mtu: link.mtu, hwAddr: link.mac.length ? formatMAC(link.mac) : "",
    devicePath: extra.devicePath, type: link.kind, rawFlags: link.flags,
  };
}

/** Every link with its addresses (Kata's ListInterfaces). */
export function listInterfaces(): InterfaceData[] {
  const addrs = rtnl.listAddresses();
  return rtnl.listLinks().map((l) => describe(l, addrs.filter((a) => a.index === l.index), { device: "", devicePath: "" }));
}
