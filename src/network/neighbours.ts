// AddARPNeighbors like Kata: each entry is created or replaced with its state (0 = NUD_PERMANENT)
// and NTF_* flags. All entries are checked before the first is added.
import { invalid } from "../errors.ts";
import { parseMAC } from "./ip.ts";
import { NUD_PERMANENT, type NeighbourSpec } from "./rtnl-encode.ts";
import * as rtnl from "./rtnl.ts";
import type { NeighbourData } from "./types.ts";
import { checkIP, checkRange } from "./validate.ts";

function plan(n: NeighbourData, field: string, links: rtnl.LinkInfo[]): NeighbourSpec {
  if (!n.ip || !n.ip.address) throw invalid(`${field}.toIPAddress: missing (the neighbour's IP address)`);
  const ip = checkIP(n.ip.address, n.ip.family, `${field}.toIPAddress.address`);
  if (!n.device) throw invalid(`${field}.device: empty`);
  const link = links.find((l) => l.name === n.device);
  if (!link) throw invalid(`${field}.device "${n.device}": no such link in the guest`);
  let lladdr: Uint8Array | undefined;
  if (n.lladdr) {
    lladdr = parseMAC(n.lladdr) ?? undefined;
    if (!lladdr) throw invalid(`${field}.lladdr "${n.lladdr}": not a MAC address`);
  }
  checkRange(n.state, 0xffff, `${field}.state`);
  checkRange(n.flags, 0xff, `${field}.flags`);
  return { family: n.ip.family, index: link.index, ip, lladdr, state: n.state || NUD_PERMANENT, flags: n.flags };
}

export function addArpNeighbors(list: NeighbourData[]): void {
  const links = rtnl.listLinks();
  const planned = list.map((n, i) => plan(n, `neighbors[${i}]`, links));
  planned.forEach((spec, i) => {
    const n = list[i]!;
    try {
      rtnl.addNeighbour(spec, `neighbors[${i}] ${n.ip!.address} lladdr ${n.lladdr || "-"} dev ${n.device}`);
    } catch (e) {
      const note = i ? `neighbours [0..${i - 1}] were added before it and stay` : "no neighbour was added";
      const err = new Error(`${(e as Error).message}; ${note}`) as Error & { kind?: unknown };
      err.kind = (e as { kind?: unknown }).kind;
      throw err;
    }
  });
}
