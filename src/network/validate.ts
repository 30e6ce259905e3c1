// Checks a request's network values before anything is changed, so a bad field fails the call
// with INVALID_ARGUMENT naming it and the links stay as they were.
import { invalid } from "../errors.ts";
import { parseCIDR, parseIP, parsePrefix, type Family } from "./ip.ts";
import type { IPAddressData } from "./types.ts";

/** The kernel's dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or whitespace. */
export function checkLinkName(name: string, field: string): void {
  const bytes = new TextEncoder().encode(name).length;
  if (bytes === 0) throw invalid(`${field}: the interface name is empty`);
  if (bytes > 15) throw invalid(`${field} "${name}": interface names are at most 15 bytes (IFNAMSIZ - 1), this one has ${bytes}`);
  if (name === "." || name === "..") throw invalid(`${field} "${name}": not a valid interface name`);
  if (/[/:\s]/.test(name)) throw invalid(`${field} "${name}": interface names cannot contain '/', ':' or whitespace`);
}

export const MIN_MTU = 68; // IPv4's minimum (RFC 791); the kernel's ethernet minimum too
export const MAX_MTU = 65535; // ETH_MAX_MTU

export function checkMtu(mtu: number, field: string): void {
  if (mtu !== 0 && !(Number.isInteger(mtu) && mtu >= MIN_MTU && mtu <= MAX_MTU)) {
    throw invalid(`${field} ${mtu}: out of range (${MIN_MTU}..${MAX_MTU}, or 0 to leave it unchanged)`);
  }
}

const familyName = (f: Family) => (f === 4 ? "v4" : "v6");

/** An address the caller labelled with a family: both the text and the family must agree. */
export function checkAddress(a: IPAddressData, field: string): { family: Family; bytes: Uint8Array; prefix: number } {
  const ip = parseIP(a.address);
  if (!ip) throw invalid(`${field}.address "${a.address}": not an IPv4 or IPv6 address`);
  if (ip.family !== a.family) {
    throw invalid(`${field}.address "${a.address}" is IPv${ip.family} but ${field}.family is ${familyName(a.family)}`);
  }
  const prefix = parsePrefix(a.mask, ip.family === 4 ? 32 : 128);
  if (prefix === null) {
    throw invalid(`${field}.mask "${a.mask}": not a prefix length 0..${ip.family === 4 ? 32 : 128}`);
  }
  return { ...ip, prefix };
}

/** "ip" or "ip/len" of the given family; "" is allowed only where the caller says so. */
export function checkCIDR(s: string, family: Family, field: string) {
  const c = parseCIDR(s);
  if (!c) throw invalid(`${field} "${s}": not an IPv${family} address or prefix (a.b.c.d/n, x::y/n)`);
  if (c.family !== family) throw invalid(`${field} "${s}" is IPv${c.family} but the route's family is ${familyName(family)}`);
  return c;
}

export function checkIP(s: string, family: Family, field: string): Uint8Array {
  const ip = parseIP(s);
  if (!ip) throw invalid(`${field} "${s}": not an IP address`);
  if (ip.family !== family) throw invalid(`${field} "${s}" is IPv${ip.family} but the family is ${familyName(family)}`);
  return ip.bytes;
}

export function checkRange(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw invalid(`${field} ${v}: out of range (0..${max})`);
}
