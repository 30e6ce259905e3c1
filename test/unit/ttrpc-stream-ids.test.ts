import { expect, test } from "bun:test";
import { StreamIdWindow } from "../../src/ttrpc/stream-ids.ts";

test("odd rising ids are accepted, even and repeated ids refused", () => {
  const w = new StreamIdWindow();
  expect([1, 3, 5, 9].map((id) => w.accept(id))).toEqual([true, true, true, true]);
  expect(w.accept(2)).toBe(false);
  expect(w.accept(0)).toBe(false);
  expect(w.accept(9)).toBe(false);
  expect(w.accept(3)).toBe(false);
  expect(w.last).toBe(9);
});

test("a slightly late id (skipped earlier) is accepted exactly once", () => {
  const w = new StreamIdWindow();
  expect(w.accept(1)).toBe(true);
  expect(w.accept(5)).toBe(true); // 3 overtaken on the wire
  expect(w.accept(3)).toBe(true);
  expect(w.accept(3)).toBe(false);
  expect(w.accept(7)).toBe(true);
});

test("ids older than the window are refused; slots are recycled as the window moves", () => {
  const w = new StreamIdWindow();
  expect(w.accept(1)).toBe(true);
  expect(w.accept(1 + 2 * 1024)).toBe(true); // same ring slot as 1, one window later
  expect(w.accept(1)).toBe(false); // too old
  expect(w.accept(3)).toBe(true); // exactly inside the window, never seen
  for (let id = 2051; id < 2051 + 4 * 1024; id += 2) expect(w.accept(id)).toBe(true);
  // Ids the window has moved past are refused, although their ring slots have been reused since.
  expect(w.accept(2049)).toBe(false);
  // A big jump clears everything; ids just below the new top are fresh.
  expect(w.accept(1_000_001)).toBe(true);
  expect(w.accept(999_999)).toBe(true);
  expect(w.accept(999_999)).toBe(false);
});

test("ids up to 2^32-1", () => {
  const w = new StreamIdWindow();
  expect(w.accept(0xfffffffd)).toBe(true);
  expect(w.accept(0xffffffff)).toBe(true);
  expect(w.accept(0xfffffffd)).toBe(false);
  expect(w.accept(0xfffffffb)).toBe(true);
});
