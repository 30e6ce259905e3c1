// pipe.ts and pty.ts: descriptors are close-on-exec, sizes and window sizes round-trip.
import { describe, expect, test } from "bun:test";
import { closeFd, getPipeSize, pipe, setNonBlocking, setPipeSize, writeAll } from "../../src/sys/pipe.ts";
import { getWinSize, openPty, setWinSize } from "../../src/sys/pty.ts";
import { C, ptr } from "../../src/sys/libc.ts";
import { SysError } from "../../src/sys/errno.ts";

const F_GETFD = 1;
const F_GETFL = 3;
const O_NONBLOCK = 0x800;

function readSome(fd: number): string {
  const buf = new Uint8Array(new ArrayBuffer(256));
  const n = C.read(fd, ptr(buf), buf.length);
  return n > 0 ? Buffer.from(buf.subarray(0, n)).toString() : "";
}

describe("pipe", () => {
  test("both ends close-on-exec, data flows", () => {
    const [r, w] = pipe();
    try {
      expect(C.fcntl(r, F_GETFD, 0)).toBe(1);
      expect(C.fcntl(w, F_GETFD, 0)).toBe(1);
      writeAll(w, new TextEncoder().encode("ping"));
      expect(readSome(r)).toBe("ping");
    } finally {
      closeFd(r);
      closeFd(w);
    }
  });

  test("setNonBlocking sets O_NONBLOCK on that end only", () => {
    const [r, w] = pipe();
    try {
      setNonBlocking(r);
      expect(C.fcntl(r, F_GETFL, 0) & O_NONBLOCK).toBe(O_NONBLOCK);
      expect(C.fcntl(w, F_GETFL, 0) & O_NONBLOCK).toBe(0);
      expect(C.read(r, ptr(new Uint8Array(new ArrayBuffer(8))), 8)).toBe(-1); // EAGAIN instead of blocking
    } finally {
      closeFd(r);
      closeFd(w);
    }
  });

  test("setPipeSize returns what the kernel set (rounded up to a power of two of pages)", () => {
    const [r, w] = pipe();
    try {
      expect(setPipeSize(w, 65537)).toBe(131072);
      expect(getPipeSize(r)).toBe(131072); // one pipe, both ends
      expect(setPipeSize(w, 4096)).toBe(4096);
    } finally {
      closeFd(r);
      closeFd(w);
    }
  });

  test("closeFd of a closed descriptor throws EBADF", () => {
    const [r, w] = pipe();
    closeFd(r);
    closeFd(w);
    expect(() => closeFd(r)).toThrow(SysError);
    expect(() => closeFd(r)).toThrow(`close(${r}): EBADF`);
  });
});

describe("pty", () => {
  test("openPty: close-on-exec pair, window size round-trips, slave output reaches the master", () => {
    const { master, slave } = openPty();
    try {
      expect(C.fcntl(master, F_GETFD, 0)).toBe(1);
      expect(C.fcntl(slave, F_GETFD, 0)).toBe(1);
      setWinSize(master, 42, 132);
      expect(getWinSize(master)).toEqual({ rows: 42, cols: 132 });
      expect(getWinSize(slave)).toEqual({ rows: 42, cols: 132 });
      writeAll(slave, new TextEncoder().encode("hi\n"));
      expect(readSome(master)).toBe("hi\r\n"); // the line discipline's ONLCR
    } finally {
      closeFd(master);
      closeFd(slave);
    }
  });

  test("setWinSize on something that is not a tty fails with ENOTTY", () => {
    const [r, w] = pipe();
    try {
      expect(() => setWinSize(r, 1, 1)).toThrow(`ioctl(${r}, TIOCSWINSZ): ENOTTY`);
    } finally {
      closeFd(r);
      closeFd(w);
    }
  });
});
