import { describe, expect, test } from "bun:test";
import { IdleCollector } from "../../src/idle-gc.ts";

function counting(delayMs: number, shrinkDelayMs = 10_000) {
  let gcs = 0;
  let shrinks = 0;
  const c = new IdleCollector({ delayMs, shrinkDelayMs, collect: () => void gcs++, shrink: () => void shrinks++ });
  return { c, gcs: () => gcs, shrinks: () => shrinks };
}

describe("IdleCollector", () => {
  test("collects once, delayMs after the last completed call", async () => {
    const { c, gcs } = counting(40);
    c.callDone();
    await Bun.sleep(20);
    c.callDone(); // restarts the quiet-time clock
    await Bun.sleep(25);
    expect(gcs()).toBe(0);
    await Bun.sleep(40);
    expect(gcs()).toBe(1);
    expect(c.collections).toBe(1);
    // Nothing ran since: no second collection.
    await Bun.sleep(60);
    expect(gcs()).toBe(1);
    c.stop();
  });

  test("a new burst after a collection collects again", async () => {
    const { c, gcs } = counting(10);
    c.callDone();
    await Bun.sleep(40);
    c.callDone();
    c.callDone();
    await Bun.sleep(40);
    expect(gcs()).toBe(2);
    c.stop();
  });

  test("shrinks only after the longer pause, once per burst", async () => {
    const { c, gcs, shrinks } = counting(10, 60);
    c.callDone();
    await Bun.sleep(30);
    expect([gcs(), shrinks()]).toEqual([1, 0]);
    c.callDone(); // activity inside the long pause postpones the shrink
    await Bun.sleep(40);
    expect([gcs(), shrinks()]).toEqual([2, 0]);
    await Bun.sleep(60);
    expect([gcs(), shrinks()]).toEqual([2, 1]);
    expect(c.shrinks).toBe(1);
    await Bun.sleep(80);
    expect(shrinks()).toBe(1);
    c.stop();
  });

  test("never runs without activity, and stop() cancels pending runs", async () => {
    const { c, gcs, shrinks } = counting(10, 20);
    await Bun.sleep(30);
    expect(gcs() + shrinks()).toBe(0);
    c.callDone();
    c.stop();
    await Bun.sleep(40);
    expect(gcs() + shrinks()).toBe(0);
  });

  test("the defaults (a full GC, then GC + Bun.shrink) run and return", async () => {
    const c = new IdleCollector({ delayMs: 5, shrinkDelayMs: 15 });
    c.callDone();
    await Bun.sleep(60);
    expect([c.collections, c.shrinks]).toEqual([1, 1]);
  });
});
