// The kernel's uevent stream as a reliable byte stream for Bun. A netlink datagram socket read
// by a Bun stream loses datagrams under bursts, so src/sys/native/uevent.c (libuevent.so,
// embedded like liblaunch.so) reads the NETLINK_KOBJECT_UEVENT socket (group 1) in its own
// thread and writes every kernel datagram as a frame (u32 LE length + bytes) into a pipe; this
// file starts that thread and cuts the pipe's bytes back into datagrams.
import { FFIType } from "bun:ffi";
import { dlopenEmbedded } from "./embedded-lib.ts";
import soPath from "../../build/native/libuevent.so" with { type: "file" };
import { C } from "./libc.ts";
import { SysError } from "./errno.ts";
import { closeFd, pipe, setNonBlocking, setPipeSize } from "./pipe.ts";

const KU_VERSION = 1;
/** Socket receive buffer: absorbs a burst while the pipe is full (Kata's udev-less agents use
 *  similar sizes; the kernel caps it without CAP_NET_ADMIN). */
const RCVBUF = 8 << 20;
const PIPE_BYTES = 1 << 20;

function loadLibrary() {
  const lib = dlopenEmbedded(soPath, "libuevent.so", {
    ku_version: { args: [], returns: FFIType.i32 },
    ku_start: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  });
  const v = lib.symbols.ku_version();
  if (v !== KU_VERSION) throw new Error(`libuevent.so has version ${v}, expected ${KU_VERSION}: rebuild it`);
  return lib.symbols;
}

let lib: ReturnType<typeof loadLibrary> | undefined;

/** One datagram from the kernel, or `overflow` when the socket dropped events (ENOBUFS). */
export type UeventFrame = { data: Uint8Array } | { overflow: true };

export interface UeventSocket {
  /** Every frame in arrival order; ends when stop() is called. */
  frames: AsyncIterable<UeventFrame>;
  /** Ends the reader thread (it closes the socket) and the stream. */
  stop(): void;
}

/** Opens the uevent socket and starts its reader thread. Throws SysError("uevent socket", errno). */
export function openUeventSocket(): UeventSocket {
  lib ??= loadLibrary();
  const [dataR, dataW] = pipe();
  const [stopR, stopW] = pipe();
  try {
    // A bigger pipe means fewer thread wake-ups during bursts; EPERM above pipe-max-size is fine.
    try {
      setPipeSize(dataW, PIPE_BYTES);
    } catch {}
    const rc = lib.ku_start(dataW, stopR, RCVBUF);
    if (rc < 0) throw new SysError("uevent socket (NETLINK_KOBJECT_UEVENT)", -rc);
  } catch (e) {
    [dataR, dataW, stopR, stopW].forEach((fd) => C.close(fd));
    throw e;
  }
  // The thread owns dataW and stopR now.
  setNonBlocking(dataR);
  const stream = Bun.file(dataR).stream();
  let stopped = false;
  return {
    frames: frames(stream),
    stop() {
      if (stopped) return;
      stopped = true;
      closeFd(stopW); // the thread sees POLLHUP, closes dataW: the stream ends
    },
  };
}

/** Cuts the pipe's bytes into frames (a chunk may hold several frames or part of one). */
export async function* frames(stream: ReadableStream<Uint8Array>): AsyncGenerator<UeventFrame> {
  let buf: Uint8Array = new Uint8Array(0);
  for await (const chunk of stream) {
    buf = buf.length === 0 ? chunk : concat(buf, chunk);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24);
      if (buf.length - off - 4 < len) break;
      yield len === 0 ? { overflow: true } : { data: buf.subarray(off + 4, off + 4 + len) };
      off += 4 + len;
    }
    buf = off === buf.length ? new Uint8Array(0) : buf.slice(off);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
