// The server address forms the Kata agent listens on (ttrpc's bind addresses):
//   vsock://CID:PORT   CID -1 = VMADDR_CID_ANY (the default vsock://-1:1024)
//   unix:///abs/path   a filesystem socket (unix://rel/path is a relative one)
//   unix://@name       an abstract socket
// Parsed here once so a bad address is reported as a configuration problem at start-up,
// not as a bind failure later; the ttRPC server can reuse the parsed form.

export const VMADDR_CID_ANY = 0xffff_ffff;

export type ServerAddr =
  | { kind: "vsock"; cid: number; port: number }
  | { kind: "unix"; path: string; abstract: boolean };

export type ServerAddrResult = { ok: true; addr: ServerAddr } | { ok: false; reason: string };

const FORMS = "vsock://CID:PORT, unix:///path or unix://@name";
const U32_MAX = 0xffff_ffff;

function parseU32(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= U32_MAX ? n : undefined;
}

export function parseServerAddr(text: string): ServerAddrResult {
  const fail = (why: string): ServerAddrResult => ({ ok: false, reason: `is not a server address: ${why} (${FORMS})` });
  const scheme = /^([a-z]+):\/\/(.*)$/s.exec(text);
  if (!scheme) return fail("no scheme");
  const [, kind, rest = ""] = scheme;
  if (kind === "vsock") {
    const m = /^(-1|[0-9]+):([0-9]+)$/.exec(rest);
    if (!m) return fail("expected CID:PORT");
    const cid = m[1] === "-1" ? VMADDR_CID_ANY : parseU32(m[1]!);
    const port = parseU32(m[2]!);
    if (cid === undefined) return fail("CID out of range");
    if (port === undefined) return fail("port out of range");
    return { ok: true, addr: { kind: "vsock", cid, port } };
  }
  if (kind === "unix") {
    if (rest === "" || rest === "@") return fail("empty socket path");
    if (rest.includes("\0")) return fail("NUL in socket path");
    const abstract = rest.startsWith("@");
    const path = abstract ? rest.slice(1) : rest;
    // sun_path holds 108 bytes including the terminating NUL (or the leading NUL when abstract).
    if (Buffer.byteLength(path) > 107) return fail("socket path longer than 107 bytes");
    return { ok: true, addr: { kind: "unix", path, abstract } };
  }
  return fail(`unknown scheme "${kind}"`);
}
