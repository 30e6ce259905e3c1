// A shared library embedded in the binary (liblaunch.so, libuevent.so), dlopen'ed from a memfd:
// no TMPDIR needed, and it works from Bun's /$bunfs/ paths too. The caller checks its version.
import { dlopen, type FFIFunction, type Library } from "bun:ffi";
import { readFileSync } from "node:fs";
import { C, check, cstr } from "./libc.ts";
import { writeAll } from "./pipe.ts";

const MFD_CLOEXEC = 1;

export function dlopenEmbedded<Fns extends Record<string, FFIFunction>>(path: string, name: string, symbols: Fns): Library<Fns> {
  const bytes = readFileSync(path);
  const fd = check(`memfd_create(${name})`, C.memfd_create(cstr(name), MFD_CLOEXEC));
  try {
    writeAll(fd, bytes);
    return dlopen(`/proc/self/fd/${fd}`, symbols);
  } finally {
    C.close(fd);
  }
}
