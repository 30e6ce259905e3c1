// SignalProcess's SIGTERM→SIGKILL rule reads the signal masks of /proc/<pid>/status.
import { expect, test } from "bun:test";
import { lacksHandler, signalHandledIn } from "../../src/process/signal-mask.ts";

const status = (blk: string, ign: string, cgt: string) =>
  `Name:\tsleep\nSigQ:\t0/7823\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t${blk}\nSigIgn:\t${ign}\nSigCgt:\t${cgt}\nCapInh:\t0000000000000000\n`;
const ZERO = "0000000000000000";

test("a SIGTERM bit in any of the blocked, ignored or caught masks counts as handled", () => {
  expect(signalHandledIn(status(ZERO, ZERO, ZERO), 15)).toBe(false);
  expect(signalHandledIn(status("0000000000004000", ZERO, ZERO), 15)).toBe(true);
  expect(signalHandledIn(status(ZERO, "0000000000004000", ZERO), 15)).toBe(true);
  expect(signalHandledIn(status(ZERO, ZERO, "0000000000004002"), 15)).toBe(true);
  expect(signalHandledIn(status(ZERO, ZERO, "0000000000004002"), 2)).toBe(true);
  expect(signalHandledIn(status(ZERO, ZERO, "0000000000004002"), 1)).toBe(false);
  expect(signalHandledIn(status(ZERO, ZERO, "8000000000000000"), 64)).toBe(true);
  expect(signalHandledIn(status(ZERO, ZERO, "ffffffffffffffff"), 65)).toBe(false);
});

test("this test process handles SIGTERM or not as its status says; a gone pid lacks a handler", () => {
  expect(lacksHandler(2 ** 22 + 12345, 15)).toBe(true);
  expect(typeof lacksHandler(process.pid, 15)).toBe("boolean");
});
