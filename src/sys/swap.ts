// swapon(2) for AddSwap/AddSwapPath (Kata calls the syscall too: no swapon program needed in the
// guest image). The device or file must already carry a swap signature (the runtime's mkswap).
import { dlopen, FFIType } from "bun:ffi";
import { check, cstr } from "./libc.ts";

const lib = dlopen("libc.so.6", { swapon: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 } });

export function swapon(path: string): void {
  const p = cstr(path);
  check(`swapon ${path}`, lib.symbols.swapon(p, 0));
}
