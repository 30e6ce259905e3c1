// The agent arms its uevent listener at start-up and opens it only once the first answer is out,
// after a timer, or when a device RPC asks for the hub first (src/device/uevent-listener.ts), so
// opening it stays off the path to "ready". Root: the listener opens a real uevent socket.
import { afterEach, describe, expect, test } from "bun:test";
import { armUeventListener, deviceHub, stopUeventListener } from "../../src/device/uevent-listener.ts";
import { Logger } from "../../src/log/logger.ts";
import { startAgent } from "../helpers/agent.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";

const isRoot = process.getuid?.() === 0;

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = Logger.create();
  log.setSink((l) => lines.push(l));
  return { log, lines };
}
const started = (lines: string[]) => lines.filter((l) => l.includes("uevent listener started")).length;

describe.skipIf(!isRoot && process.env.CI !== "true")("armed uevent listener", () => {
  afterEach(async () => {
    await stopUeventListener();
  });

  test("not open while only armed; a device RPC's deviceHub() opens it at once, and only once", async () => {
    const { log, lines } = capture();
    armUeventListener(log, 60_000);
    await Bun.sleep(20);
    expect(started(lines)).toBe(0);
    const hub = deviceHub();
    expect(started(lines)).toBe(1);
    expect(deviceHub()).toBe(hub);
    await Bun.sleep(20);
    expect(started(lines)).toBe(1);
  });

  test("kick() (an answer went out) opens it after the current turn", async () => {
    const { log, lines } = capture();
    const arm = armUeventListener(log, 60_000);
    arm.kick();
    expect(started(lines)).toBe(0);
    await Bun.sleep(10);
    expect(started(lines)).toBe(1);
    arm.kick();
    await Bun.sleep(10);
    expect(started(lines)).toBe(1);
  });

  test("with no call at all, the timer opens it", async () => {
    const { log, lines } = capture();
    const t0 = performance.now();
    armUeventListener(log, 200);
    await Bun.sleep(1);
    if (performance.now() - t0 < 150) expect(started(lines)).toBe(0); // (a very slow machine may overshoot)
    const deadline = Date.now() + 5000;
    while (started(lines) === 0 && Date.now() < deadline) await Bun.sleep(10);
    expect(started(lines)).toBe(1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(199);
  });

  test("the agent logs ready before the listener starts, and starts it after its first answer", async () => {
    const agent = await startAgent();
    try {
      const c = await TtrpcClient.connect(agent.address);
      await c.call("grpc.Health", "Check", new Uint8Array());
      const deadline = Date.now() + 5000;
      while (!agent.logs().includes("uevent listener started") && Date.now() < deadline) await Bun.sleep(10);
      const logs = agent.logs();
      expect(logs.indexOf("uevent listener started")).toBeGreaterThan(logs.indexOf('"agent ready"'));
      expect(logs.indexOf('"agent ready"')).toBeGreaterThan(-1);
      await c.close();
    } finally {
      await agent.stop();
    }
  });
});
