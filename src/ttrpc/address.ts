// Server and client addresses in Kata's spelling:
//   unix:///run/agent.sock   a socket file (absolute path)
//   unix://@name             an abstract unix socket
//   vsock://CID:PORT         vsock; CID -1 (or 4294967295) = any, i.e. listen on every CID
//   tcp://host:port          TCP (tests, benchmarks); IPv6 hosts in brackets: tcp://[::1]:1024

export type Address =
  | { kind: "unix"; path: string }
  | { kind: "abstract"; name: string }
  | { kind: "vsock"; cid: number; port: number }
  | { kind: "tcp"; host: string; port: number };

export { VMADDR_CID_ANY as CID_ANY } from "../sys/consts.ts";
import { VMADDR_CID_ANY as CID_ANY } from "../sys/consts.ts";

export class AddressError extends Error {
  override name = "AddressError";
}

/** sockaddr_un.sun_path is 108 bytes: a path needs its NUL, an abstract name its leading NUL. */
const SUN_PATH_MAX = 108;

function bad(address: string, why: string): never {
  throw new AddressError(`invalid address "${address}": ${why}`);
}

/** A decimal integer, nothing else ("1e3", "0x10", " 5", "" are refused). */
function integer(text: string): number | undefined {
  return /^-?\d+$/.test(text) ? Number(text) : undefined;
}

export function parseAddress(address: string): Address {
  const sep = address.indexOf("://");
  if (sep < 0) bad(address, "expected scheme://… (unix://, vsock://, tcp://)");
  const scheme = address.slice(0, sep).toLowerCase();
  const rest = address.slice(sep + 3);
  switch (scheme) {
    case "unix":
      return parseUnix(address, rest);
    case "vsock":
      return parseVsock(address, rest);
    case "tcp":
      return parseTcp(address, rest);
    default:
      return bad(address, `unknown scheme "${scheme}" (expected unix, vsock or tcp)`);
  }
}

function parseUnix(address: string, rest: string): Address {
  if (rest.startsWith("@")) {
    const name = rest.slice(1);
    if (name.length === 0) bad(address, "empty abstract socket name");
    if (Buffer.byteLength(name) + 1 > SUN_PATH_MAX) bad(address, "abstract name longer than 107 bytes");
    return { kind: "abstract", name };
  }
  if (!rest.startsWith("/")) bad(address, "unix sockets need an absolute path (unix:///path) or an abstract name (unix://@name)");
  if (rest.includes("\0")) bad(address, "path contains a NUL byte");
  if (Buffer.byteLength(rest) + 1 > SUN_PATH_MAX) bad(address, "socket path longer than 107 bytes");
  return { kind: "unix", path: rest };
}

function parseVsock(address: string, rest: string): Address {
  const colon = rest.lastIndexOf(":");
  if (colon < 0) bad(address, "expected vsock://CID:PORT");
  const cid = integer(rest.slice(0, colon));
  const port = integer(rest.slice(colon + 1));
  if (cid === undefined) bad(address, `CID "${rest.slice(0, colon)}" is not a number`);
  if (port === undefined) bad(address, `port "${rest.slice(colon + 1)}" is not a number`);
  if (cid !== -1 && (cid < 0 || cid > CID_ANY)) bad(address, "CID must be -1 (any) or 0..4294967295");
  if (port < 0 || port >= 0xffffffff) bad(address, "port must be 0..4294967294");
  return { kind: "vsock", cid: cid === -1 ? CID_ANY : cid, port };
}

function parseTcp(address: string, rest: string): Address {
  let host: string;
  let portText: string;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0 || rest[close + 1] !== ":") bad(address, "expected tcp://[ipv6]:port");
    host = rest.slice(1, close);
    portText = rest.slice(close + 2);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon < 0) bad(address, "expected tcp://host:port");
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host.includes(":")) bad(address, "IPv6 hosts go in brackets: tcp://[::1]:port");
  }
  if (host.length === 0) bad(address, "empty host");
  if (host.includes("/")) bad(address, "host contains '/'");
  const port = integer(portText);
  if (port === undefined) bad(address, `port "${portText}" is not a number`);
  if (port < 0 || port > 65535) bad(address, "port must be 0..65535");
  return { kind: "tcp", host, port };
}

/** The canonical text of an address (CID_ANY prints as -1, like Kata's default vsock://-1:1024). */
export function formatAddress(a: Address): string {
  switch (a.kind) {
    case "unix": return `unix://${a.path}`;
    case "abstract": return `unix://@${a.name}`;
    case "vsock": return `vsock://${a.cid === CID_ANY ? -1 : a.cid}:${a.port}`;
    case "tcp": return `tcp://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
  }
}
