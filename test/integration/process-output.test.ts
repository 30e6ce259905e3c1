// OutputStream on a real pipe: order, EOF, back-pressure, and the read-ahead that grows to the
// reader's `len`. Pipes stay within /proc/sys/fs/pipe-max-size (1 MiB): bigger ones need
// CAP_SYS_RESOURCE, which even root may lack in a container.
import { describe, expect, test } from "bun:test";
import { OutputStream } from "../../src/process/output.ts";
import { bytesAvailable } from "../../src/sys/fd.ts";
import { closeFd, pipe, setNonBlocking, setPipeSize, writeAll } from "../../src/sys/pipe.ts";

const MiB = 1 << 20;

/** A pipe holding `bytes` ≤ 1 MiB (written before the stream exists, writer closed): 0, 1, 2, … mod 251. */
function filledPipe(bytes: number): { r: number; data: Uint8Array } {
  const [r, w] = pipe();
  setPipeSize(w, MiB);
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = i % 251;
  writeAll(w, data);
  closeFd(w);
  setNonBlocking(r);
  return { r, data };
}

/** A 1 MiB pipe fed `bytes` of zeros by busybox dd in 64 KiB writes (blocks while the pipe is full). */
function fedPipe(bytes: number) {
  const [r, w] = pipe();
  setPipeSize(w, MiB);
  const writer = Bun.spawn(["/bin/busybox", "dd", "if=/dev/zero", "bs=64k", `count=${bytes >> 16}`], { stdin: "ignore", stdout: w, stderr: "ignore" });
  closeFd(w);
  setNonBlocking(r);
  return { r, writer };
}

const settle = () => Bun.sleep(50);
const total = (parts: Uint8Array[]) => parts.reduce((n, p) => n + p.length, 0);

describe("OutputStream on a pipe", () => {
  test("returns every byte in order, then EOF as an empty read", async () => {
    const { r, data } = filledPipe(300_000);
    const out = new OutputStream(r, 64 << 10);
    const got: Uint8Array[] = [];
    for (;;) {
      const chunk = await out.read(70_000);
      if (chunk.length === 0) break;
      expect(chunk.length).toBeLessThanOrEqual(70_000);
      got.push(chunk);
    }
    expect(Buffer.concat(got).equals(Buffer.from(data))).toBe(true);
    expect(out.drained).toBe(true);
  });

  test("stops reading the fd at the read-ahead limit, and grows it to the reader's len", async () => {
    const { r, writer } = fedPipe(8 * MiB);
    const out = new OutputStream(r, 512 << 10);
    await settle();
    // The stream stopped at ~512 KiB: the 1 MiB pipe is full and the writer is blocked.
    expect(bytesAvailable(r)).toBe(MiB);
    const first = total(await out.readChunks(3 * MiB));
    expect(first).toBeGreaterThanOrEqual(512 << 10);
    expect(first).toBeLessThan(MiB);
    // From now on the stream reads ahead up to 3 MiB, so the next answer is a full 3 MiB.
    await settle();
    expect(total(await out.readChunks(3 * MiB))).toBe(3 * MiB);
    out.close();
    writer.kill();
    await writer.exited;
  });

  test("the read-ahead never exceeds one ttRPC message (4 MiB)", async () => {
    const { r, writer } = fedPipe(16 * MiB);
    const out = new OutputStream(r, MiB);
    await out.readChunks(64 * MiB); // far more than one answer can carry
    await settle();
    const second = total(await out.readChunks(64 * MiB));
    expect(second).toBeGreaterThanOrEqual(4 * MiB);
    expect(second).toBeLessThanOrEqual(4 * MiB + (256 << 10));
    out.close();
    writer.kill();
    await writer.exited;
  });
});
