// Devices on the host (root): real uevents from loop devices. LOOP_CTL_ADD/REMOVE on
// /dev/loop-control make the kernel add and remove /devices/virtual/block/loopN.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startUeventListener, stopUeventListener } from "../../src/device/uevent-listener.ts";
import type { Uevent } from "../../src/device/uevent.ts";
import { DeviceFinder } from "../../src/device/devices.ts";
import { blkDriver, mmioBlkDriver } from "../../src/storage/block.ts";
import type { StorageSpec } from "../../src/storage/driver.ts";
import { Logger } from "../../src/log/logger.ts";
import { installReaper, stopReaper } from "../../src/sys/reaper.ts";
import { attach, detach, devNumbers, freeLoopNumber, loopAdd, loopRemove, makeExt4Image, MARKER, run } from "../fixtures/block-image.ts";

const isRoot = process.getuid?.() === 0;
const quiet = Logger.create();
quiet.setSink(() => {});

describe.skipIf(!isRoot && process.env.CI !== "true")("uevent listener and block drivers on loop devices", () => {
  let dir: string;
  let img: string;
  const events: Uevent[] = [];
  const attached: string[] = [];
  const added: number[] = [];
  let hub: ReturnType<typeof startUeventListener>["hub"];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kata-devices-"));
    img = makeExt4Image(dir, "disk.img", 8);
    installReaper(); // mkfs runs through runProgram
    hub = startUeventListener(quiet).hub;
    hub.addHook((ev) => (events.push(ev), false));
  });
  afterAll(async () => {
    for (const d of attached) detach(d);
    for (const n of added) loopRemove(n);
    await stopUeventListener();
    stopReaper();
    rmSync(dir, { recursive: true, force: true });
  });

  const storage = (driver: string, source: string, mountPoint: string, extra: Partial<StorageSpec> = {}): StorageSpec =>
    ({ driver, driverOptions: [], source, fstype: "ext4", options: ["ro"], mountPoint, shared: false, ...extra });
  const ctx = { hotplugTimeoutMs: 2000, sandboxId: "sb" };
  const seenFor = (devname: string, action: string) => events.filter((e) => e.devname === devname && e.action === action).length;
  async function until(what: string, f: () => boolean, ms = 5000) {
    const end = Date.now() + ms;
    while (!f()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await Bun.sleep(10);
    }
  }

  test("burst: 100 loop devices added and removed back to back → every add and remove arrives", async () => {
    const N = 100;
    const base = freeLoopNumber();
    const names: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      if (!loopAdd(base + i)) continue; // taken meanwhile
      names.push(`loop${base + i}`);
      loopRemove(base + i);
    }
    const burstMs = performance.now() - t0;
    await until("all adds and removes", () => names.every((n) => seenFor(n, "add") >= 1 && seenFor(n, "remove") >= 1));
    const adds = names.reduce((a, n) => a + seenFor(n, "add"), 0);
    const removes = names.reduce((a, n) => a + seenFor(n, "remove"), 0);
    console.log(`uevent burst: ${names.length} add+remove pairs in ${burstMs.toFixed(0)} ms; received ${adds} adds, ${removes} removes`);
    expect(names.length).toBeGreaterThan(N / 2);
    expect(adds).toBe(names.length);
    expect(removes).toBe(names.length);
  }, 60_000);

  test("a wait that starts before the device exists is woken by its add uevent; the device then mounts", async () => {
    const n = freeLoopNumber();
    const path = `/dev/loop${n}`;
    expect(existsSync(path)).toBe(false);
    const finder = new DeviceFinder(hub);
    const waiting = finder.blockByPath(path, 5000, "mmio", "source");
    await Bun.sleep(50);
    expect(loopAdd(n)).toBe(true);
    added.push(n);
    const dev = await waiting;
    expect(dev.devPath).toBe(path);
    expect(dev).toMatchObject(devNumbers(`loop${n}`));
    // the same device through the mmioblk storage driver (found at once now), then mounted
    attached.push(attach(img, path));
    const mp = join(dir, "mnt-mmio");
    const m = await mmioBlkDriver.add(storage("mmioblk", path, mp), ctx);
    expect(readFileSync(join(mp, "hello.txt"), "utf8")).toBe(`${MARKER}\n`);
    await m.release();
  });

  test("a device that never comes: DEADLINE_EXCEEDED after the timeout, naming it", async () => {
    const t0 = performance.now();
    const err: any = await new DeviceFinder(hub).blockByPath("/dev/loop-never-9", 300, "mmio", "source").catch((e) => e);
    const ms = performance.now() - t0;
    expect(err.kind).toBe("deadline");
    expect(err.message).toContain("/dev/loop-never-9");
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(2000);
  });


  test("blk storage with /dev/loopN mounts read-only, the file is there, release unmounts and removes the dir", async () => {
    const loop = attach(img);
    attached.push(loop);
    const mp = join(dir, "mnt/blk");
    const m = await blkDriver.add(storage("blk", loop, mp), ctx);
    expect(readFileSync(join(mp, "hello.txt"), "utf8")).toBe(`${MARKER}\n`);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).toContain(` ${mp} `);
    await m.release();
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(` ${mp} `);
    expect(existsSync(join(dir, "mnt"))).toBe(false);
  });

  test("create_filesystem: an all-zero device gets an ext4; a device with other data is refused", async () => {
    const z = join(dir, "zero.img");
    run(["truncate", "-s", "16M", z]);
    const loop = attach(z);
    attached.push(loop);
    const mp = join(dir, "mnt3");
    const m = await blkDriver.add(storage("blk", loop, mp, { driverOptions: ["create_filesystem"], options: [] }), ctx);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).toContain(` ${mp} `);
    await m.release();
    const junk = join(dir, "junk.img");
    run(["sh", "-c", `head -c 1048576 /dev/urandom > ${junk}`]);
    const loop2 = attach(junk);
    attached.push(loop2);
    const err: any = await blkDriver.add(storage("blk", loop2, join(dir, "mnt4"), { driverOptions: ["create_filesystem"] }), ctx).catch((e) => e);
    expect(err.kind).toBe("invalid");
    expect(existsSync(join(dir, "mnt4"))).toBe(false);
  });

  test("bad input: wrong fstype, unknown driver option, a /dev path that is not a block device", async () => {
    const loop = attach(img);
    attached.push(loop);
    const e1: any = await blkDriver.add(storage("blk", loop, join(dir, "m5"), { fstype: "xfs" }), ctx).catch((e) => e);
    expect(e1.kind).toBe("invalid");
    expect(existsSync(join(dir, "m5"))).toBe(false);
    const e2: any = await blkDriver.add(storage("blk", loop, join(dir, "m6"), { driverOptions: ["turbo"] }), ctx).catch((e) => e);
    expect(e2.message).toContain('"turbo"');
    const e3: any = await blkDriver.add(storage("blk", "/dev/null", join(dir, "m7")), ctx).catch((e) => e);
    expect(e3.message).toContain("not a block device");
    const e4: any = await blkDriver.add(storage("blk", "zz/01", join(dir, "m8")), ctx).catch((e) => e);
    expect(e4.kind).toBe("invalid");
  });
});
