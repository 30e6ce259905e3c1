// SetGuestDateTime and ReseedRandomDev.
import { openSync, writeSync, closeSync } from "node:fs";
import { precondition } from "../errors.ts";
import { setTimeOfDay } from "../sys/host.ts";

/** Only an agent that owns the machine (PID 1 in the VM) may set its clock. */
export function setGuestDateTime(sec: number, usec: number, ownsMachine: boolean): void {
  if (!ownsMachine) throw precondition("refusing to set the clock: the agent is not the guest's init (PID 1)");
  setTimeOfDay(sec, usec);
}

/** Mixes the host's random bytes into the guest's entropy pool (writes to /dev/random). */
export function reseedRandom(data: Uint8Array): void {
  if (data.length === 0) return;
  const fd = openSync("/dev/random", "w");
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}
