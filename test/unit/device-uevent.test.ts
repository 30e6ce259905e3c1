import { describe, expect, test } from "bun:test";
import { parseUevent, UeventHub, type Uevent, type UeventMatcher } from "../../src/device/uevent.ts";
import { frames } from "../../src/sys/uevent-socket.ts";
import { memoryOnlineHook } from "../../src/device/uevent-listener.ts";
import { Logger } from "../../src/log/logger.ts";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const enc = (s: string) => new TextEncoder().encode(s);
const kernelMsg = (action: string, devpath: string, kv: Record<string, string>) =>
  enc([`${action}@${devpath}`, `ACTION=${action}`, `DEVPATH=${devpath}`, ...Object.entries(kv).map(([k, v]) => `${k}=${v}`)].join("\0") + "\0");

const ev = (devpath: string, devname = "", action = "add", subsystem = "block"): Uevent => ({ action, devpath, devname, subsystem, seqnum: "1", interface: "" });
const byName = (name: string): UeventMatcher => ({ what: `device ${name}`, matches: (e) => e.devname === name });

describe("parseUevent (Kata Uevent::new)", () => {
  test("reads ACTION/DEVPATH/DEVNAME/SUBSYSTEM/SEQNUM/INTERFACE", () => {
    const e = parseUevent(kernelMsg("add", "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio1/block/vda",
      { SUBSYSTEM: "block", DEVNAME: "vda", DEVTYPE: "disk", SEQNUM: "1234", MAJOR: "254", MINOR: "0" }));
    expect(e).toEqual({ action: "add", devpath: "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio1/block/vda", devname: "vda", subsystem: "block", seqnum: "1234", interface: "" });
    expect(parseUevent(kernelMsg("add", "/devices/virtual/net/eth0", { SUBSYSTEM: "net", INTERFACE: "eth0" }))?.interface).toBe("eth0");
  });
  test("libudev re-broadcasts and garbage are not uevents", () => {
    expect(parseUevent(enc("libudev\0\xfe\xed"))).toBeNull();
    expect(parseUevent(enc(""))).toBeNull();
    expect(parseUevent(enc("add@/x\0SUBSYSTEM=block"))).toBeNull(); // no ACTION/DEVPATH keys
  });
});

describe("UeventHub: map + waiters", () => {
  test("an event that came before the wait is found in the map", async () => {
    const hub = new UeventHub();
    hub.handle(ev("/devices/virtual/block/loop9", "loop9"));
    expect((await hub.wait(byName("loop9"), 50)).devpath).toBe("/devices/virtual/block/loop9");
  });
  test("an event after the wait resolves it; the waiter is removed", async () => {
    const hub = new UeventHub();
    const p = hub.wait(byName("vdb"), 1000);
    expect(hub.waiting).toBe(1);
    hub.handle(ev("/devices/x/block/vdb", "vdb"));
    expect((await p).devname).toBe("vdb");
    expect(hub.waiting).toBe(0);
  });
  test("remove drops the device; other actions are not recorded", async () => {
    const hub = new UeventHub();
    hub.handle(ev("/d/block/sda", "sda"));
    hub.handle(ev("/d/block/sda", "sda", "remove"));
    hub.handle(ev("/d/block/sdb", "sdb", "change"));
    expect(hub.seen.size).toBe(0);
  });
  test("a device that never comes: DEADLINE_EXCEEDED naming it, after the timeout", async () => {
    const hub = new UeventHub();
    const t0 = performance.now();
    const err: any = await hub.wait(byName("vdz"), 120).catch((e) => e);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    expect(err.kind).toBe("deadline");
    expect(err.message).toContain("device vdz");
    expect(err.message).toContain("120 ms");
    expect(hub.waiting).toBe(0);
  });
  test("present() finds a device that existed before the listener", async () => {
    const hub = new UeventHub();
    const m: UeventMatcher = { what: "x", matches: () => false, present: () => ev("/sys-side", "pmem0") };
    expect((await hub.wait(m, 10)).devname).toBe("pmem0");
  });
  test("hot-added memory blocks are onlined and not recorded (Kata process_add)", () => {
    const sys = mkdtempSync(join(tmpdir(), "fake-mem-"));
    try {
      mkdirSync(join(sys, "devices/system/memory/memory32"), { recursive: true });
      writeFileSync(join(sys, "devices/system/memory/memory32/online"), "0");
      const hub = new UeventHub();
      const quiet = Logger.create();
      quiet.setSink(() => {});
      hub.addHook(memoryOnlineHook(sys, quiet));
      hub.handle(ev("/devices/system/memory/memory32", "", "add", "memory"));
      expect(readFileSync(join(sys, "devices/system/memory/memory32/online"), "utf8")).toBe("1");
      expect(hub.seen.size).toBe(0);
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
  });
});

describe("frames(): the reader thread's pipe format", () => {
  const frame = (b: Uint8Array) => {
    const out = new Uint8Array(4 + b.length);
    new DataView(out.buffer).setUint32(0, b.length, true);
    out.set(b, 4);
    return out;
  };
  test("frames split across and packed into chunks come out whole and in order; length 0 = overflow", async () => {
    const msgs = Array.from({ length: 50 }, (_, i) => kernelMsg("add", `/devices/virtual/block/loop${i}`, { SUBSYSTEM: "block", DEVNAME: `loop${i}` }));
    const all = new Uint8Array([...msgs.slice(0, 25).flatMap((m) => [...frame(m)]), 0, 0, 0, 0, ...msgs.slice(25).flatMap((m) => [...frame(m)])]);
    // cut into odd-sized chunks
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < all.length; i += 37) chunks.push(all.slice(i, i + 37));
    const stream = new ReadableStream<Uint8Array>({ start(c) { chunks.forEach((ch) => c.enqueue(ch)); c.close(); } });
    const got: string[] = [];
    for await (const f of frames(stream)) got.push("overflow" in f ? "OVERFLOW" : parseUevent(f.data)!.devname);
    expect(got).toEqual([...msgs.slice(0, 25).map((_, i) => `loop${i}`), "OVERFLOW", ...msgs.slice(25).map((_, i) => `loop${i + 25}`)]);
  });
});
