// The /dev/random ioctls ReseedRandomDev needs (Kata's random.rs): credit entropy to the pool and
// reseed the CRNG from it. Both need CAP_SYS_ADMIN.
import { C, check, cstr, ptr } from "./libc.ts";
import { O_CLOEXEC, O_RDWR } from "./consts.ts";

const RNDADDTOENTCNT = 0x40045201; // _IOW('R', 0x01, int)
const RNDRESEEDCRNG = 0x5207; // _IO('R', 0x07)

/** Writes `data` into the pool, credits `bits` of entropy for it, then reseeds the CRNG. */
export function mixIntoRandom(device: string, data: Uint8Array, bits: number): void {
  const fd = check(`open(${device})`, C.open(cstr(device), O_RDWR | O_CLOEXEC, 0));
  try {
    const buf = new Uint8Array(new ArrayBuffer(data.length));
    buf.set(data);
    let off = 0;
    while (off < buf.length) off += check(`write(${device})`, C.write(fd, ptr(buf, off), BigInt(buf.length - off)));
    const count = new Int32Array(new ArrayBuffer(4));
    count[0] = bits;
    check(`ioctl(${device}, RNDADDTOENTCNT, ${bits})`, C.ioctl(fd, BigInt(RNDADDTOENTCNT), ptr(count)));
    check(`ioctl(${device}, RNDRESEEDCRNG)`, C.ioctl(fd, BigInt(RNDRESEEDCRNG), null));
  } finally {
    C.close(fd);
  }
}
