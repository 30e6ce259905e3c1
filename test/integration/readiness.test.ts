// The readiness thread (src/sys/readiness.ts + native/readiness.c) on real pipes: one report per
// arm, the hang-up flag, cancelled watches stay silent, many fds at once; and OutputStream on a
// descriptor whose O_NONBLOCK was cleared still never blocks the agent's thread.
import { afterAll, describe, expect, test } from "bun:test";
import { ReadinessHub, readinessHub, readToEnd } from "../../src/sys/readiness.ts";
import { OutputStream } from "../../src/process/output.ts";
import { closeFd, pipe, setNonBlocking, writeAll } from "../../src/sys/pipe.ts";

const hub = ReadinessHub.start();
afterAll(() => hub.stop());

const settle = () => Bun.sleep(50);

/** Collects the hang-up flag of every report. */
function recorder() {
  const reports: boolean[] = [];
  return { reports, onReady: (hangup: boolean) => void reports.push(hangup) };
}

describe("ReadinessHub", () => {
  test("reports a readable fd once per arm, again after rearm()", async () => {
    const [r, w] = pipe();
    const rec = recorder();
    const watch = hub.watch(r, rec.onReady);
    await settle();
    expect(rec.reports).toEqual([]); // empty pipe: nothing to report
    writeAll(w, new Uint8Array([1]));
    await settle();
    expect(rec.reports).toEqual([false]);
    writeAll(w, new Uint8Array([2])); // still readable, but not re-armed
    await settle();
    expect(rec.reports).toEqual([false]);
    watch.rearm();
    await settle();
    expect(rec.reports).toEqual([false, false]);
    watch.cancel();
    closeFd(r);
    closeFd(w);
  });

  test("sets the hang-up flag when every writer is gone", async () => {
    const [r, w] = pipe();
    const rec = recorder();
    const watch = hub.watch(r, rec.onReady);
    closeFd(w);
    await settle();
    expect(rec.reports).toEqual([true]);
    watch.cancel();
    closeFd(r);
  });

  test("a cancelled watch is never reported, even with its report already in the pipe", async () => {
    const [r, w] = pipe();
    const rec = recorder();
    const watch = hub.watch(r, rec.onReady);
    writeAll(w, new Uint8Array([1]));
    watch.cancel(); // same tick: the thread may have written the token already
    await settle();
    expect(rec.reports).toEqual([]);
    expect(() => watch.rearm()).not.toThrow(); // a no-op once cancelled
    closeFd(r);
    closeFd(w);
  });

  test("watches 300 fds at once and reports each", async () => {
    const before = hub.size;
    const ends = Array.from({ length: 300 }, () => pipe());
    const seen = new Set<number>();
    const watches = ends.map(([r], i) => hub.watch(r, () => void seen.add(i)));
    expect(hub.size).toBe(before + 300);
    for (const [, w] of ends) writeAll(w, new Uint8Array([7]));
    const end = Date.now() + 5000;
    while (seen.size < 300 && Date.now() < end) await settle();
    expect(seen.size).toBe(300);
    watches.forEach((x) => x.cancel());
    expect(hub.size).toBe(before);
    ends.flat().forEach(closeFd);
  });
});

describe("OutputStream reads only what is there", () => {
  test("a blocking read end (O_NONBLOCK cleared) gives every byte and EOF without blocking", async () => {
    const [r, w] = pipe(); // both ends blocking: a read(2) of an empty pipe would hang the thread
    const out = new OutputStream(r, 1 << 20);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await Bun.sleep(30);
    writeAll(w, new TextEncoder().encode("hello"));
    expect(new TextDecoder().decode(await out.read(100))).toBe("hello");
    await Bun.sleep(30); // the empty pipe is armed, not read
    writeAll(w, new TextEncoder().encode("world"));
    closeFd(w);
    expect(new TextDecoder().decode(await out.read(100))).toBe("world");
    expect((await out.read(100)).length).toBe(0);
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5); // the event loop kept running throughout
    expect(out.drained).toBe(true);
  });
});

describe("readToEnd (the container init's status pipe)", () => {
  const nonBlockingPipe = () => {
    const [r, w] = pipe();
    setNonBlocking(r);
    return [r, w] as const;
  };

  test("resolves at end of file with every byte, across several writes", async () => {
    const [r, w] = nonBlockingPipe();
    const watched = readinessHub().size;
    let done: Uint8Array | undefined;
    const p = readToEnd(r, 12).then((b) => (done = b));
    writeAll(w, new Uint8Array([1, 2, 3, 4, 5]));
    await settle();
    expect(done).toBeUndefined(); // bytes, but the writer is still there
    expect(readinessHub().size).toBe(watched + 1);
    writeAll(w, new Uint8Array([6, 7, 8, 9, 10, 11, 12]));
    closeFd(w);
    expect([...(await p)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(readinessHub().size).toBe(watched); // its watch is gone
    closeFd(r);
  });

  test("an empty pipe whose writer closes gives no bytes", async () => {
    const [r, w] = nonBlockingPipe();
    const p = readToEnd(r, 12);
    closeFd(w);
    expect((await p).length).toBe(0);
    closeFd(r);
  });

  test("more than the limit is an error naming it, not a bigger buffer", async () => {
    const [r, w] = nonBlockingPipe();
    const p = readToEnd(r, 12);
    writeAll(w, new Uint8Array(13));
    closeFd(w);
    await expect(p).rejects.toThrow("more than 12 bytes");
    closeFd(r);
  });
});
