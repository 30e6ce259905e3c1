// The addresses the agent may listen on, checked with the one address parser the ttRPC server and
// client use (src/ttrpc/address.ts), so a bad address is a configuration problem at start-up and
// never a bind failure later. The agent listens where Kata's does: vsock://CID:PORT (CID -1 = any),
// unix:///abs/path or unix://@abstract; tcp:// exists for tests and benchmarks of the server only.
import { AddressError, parseAddress, type Address } from "../ttrpc/address.ts";

export type ServerAddrResult = { ok: true; addr: Address } | { ok: false; reason: string };

const FORMS = "vsock://CID:PORT, unix:///path or unix://@name";

export function parseServerAddr(text: string): ServerAddrResult {
  const fail = (why: string): ServerAddrResult => ({ ok: false, reason: `is not a server address: ${why} (${FORMS})` });
  let addr: Address;
  try {
    addr = parseAddress(text);
  } catch (e) {
    if (!(e instanceof AddressError)) throw e;
    return fail(e.message.replace(/^invalid address ".*?": /s, ""));
  }
  if (addr.kind === "tcp") return fail("the agent does not listen on tcp");
  return { ok: true, addr };
}
