// Machine-wide settings an init-mode agent owns.
import { C, check, cstr } from "./libc.ts";

export function setHostname(name: string): void {
  const b = cstr(name);
  check(`sethostname(${JSON.stringify(name)})`, C.sethostname(b, BigInt(b.length - 1)));
}
