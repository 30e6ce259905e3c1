// The network domain's plain data (no wire types): what the services convert requests into and
// answers from. Families are 4 or 6; the services map the protocol's IPFamily enum (v4=0, v6=1).
import type { Family } from "./ip.ts";

export interface IPAddressData {
  family: Family;
  address: string;
  /** Prefix length as decimal text ("24"), as the protocol carries it. */
  mask: string;
}

export interface InterfaceData {
  /** Kata's `device` field: informational, echoed back. */
  device: string;
  name: string;
  addresses: IPAddressData[];
  /** 0 = leave the MTU as it is. */
  mtu: number;
  hwAddr: string;
  /** Guest PCI path ("02/00") of the NIC: wait for it before looking the link up. */
  devicePath: string;
  /** The link kind ("veth", "tap", ...); informational. */
  type: string;
  /** IFF_* flags: IFF_NOARP is applied (as Kata does); the rest describe state the kernel owns. */
  rawFlags: number;
}

export interface RouteData {
  /** "a.b.c.d/n", "x::/n", or "" for the default route. */
  dest: string;
  gateway: string;
  device: string;
  /** A preferred source address ("10.0.0.2"), or a source prefix ("10.0.0.0/24"). */
  source: string;
  scope: number;
  family: Family;
  /** rtm_flags (RTNH_F_ONLINK = 4, ...). */
  flags: number;
  /** 0 = no MTU metric. */
  mtu: number;
}

export interface NeighbourData {
  /** Absent when the request had no toIPAddress. */
  ip?: IPAddressData;
  device: string;
  lladdr: string;
  /** NUD_* state; 0 means NUD_PERMANENT (Kata's default). */
  state: number;
  /** NTF_* flags. */
  flags: number;
}
