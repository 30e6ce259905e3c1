import { describe, expect, test } from "bun:test";
import { IdleCollector } from "../../src/idle-gc.ts";

function counting(delayMs: number) {
  let runs = 0;
  const c = new IdleCollector({ delayMs, collect: () => void runs++ });
  return { c, runs: () => runs };
}

describe("IdleCollector", () => {
  test("collects once, delayMs after the last completed call", async () => {
    const { c, runs } = counting(40);
    c.callDone();
    await Bun.sleep(20);
    c.callDone(); // restarts the quiet-time clock
    await Bun.sleep(25);
    expect(runs()).toBe(0);
    await Bun.sleep(40);
    expect(runs()).toBe(1);
    expect(c.collections).toBe(1);
    // Nothing ran since: no second collection.
    await Bun.sleep(60);
    expect(runs()).toBe(1);
    c.stop();
  });

  test("a new burst after a collection collects again", async () => {
    const { c, runs } = counting(10);
    c.callDone();
    await Bun.sleep(40);
    c.callDone();
    c.callDone();
    await Bun.sleep(40);
    expect(runs()).toBe(2);
    c.stop();
  });

  test("never collects without activity, and stop() cancels a pending one", async () => {
    const { c, runs } = counting(10);
    await Bun.sleep(30);
    expect(runs()).toBe(0);
    c.callDone();
    c.stop();
    await Bun.sleep(30);
    expect(runs()).toBe(0);
  });

  test("the default collection (a full GC) runs after the quiet time", async () => {
    const c = new IdleCollector({ delayMs: 5 });
    c.callDone();
    await Bun.sleep(50);
    expect(c.collections).toBe(1);
  });
});
