// SetGuestDateTime and ReseedRandomDev (both used by VM templating: a VM cloned from a template
// needs the current time and fresh randomness).
import { existsSync } from "node:fs";
import { invalid, precondition } from "../errors.ts";
import { setTimeOfDay } from "../sys/host.ts";
import { mixIntoRandom } from "../sys/random.ts";

export interface ClockOwnership {
  /** The agent is the guest's init (PID 1). */
  ownsMachine: boolean;
  /** The agent's parent pid. */
  ppid: number;
  /** systemd is the init (/run/systemd/system exists). */
  systemdBooted: boolean;
}

export function clockOwnership(ownsMachine: boolean): ClockOwnership {
  return { ownsMachine, ppid: process.ppid, systemdBooted: existsSync("/run/systemd/system") };
}

/**
 * Kata sets the clock unconditionally: it is the guest's agent. This agent also runs in tests on a
 * host, where moving the host's clock would be wrong, so it sets the clock when it owns the guest:
 * as PID 1, or as a service started by systemd (kata-agent.service: parent is PID 1 = systemd).
 */
export function mayOwnClock(o: ClockOwnership): boolean {
  return o.ownsMachine || (o.systemdBooted && o.ppid === 1);
}

export function setGuestDateTime(sec: number, usec: number, o: ClockOwnership): void {
  if (!mayOwnClock(o)) {
    throw precondition("SetGuestDateTime: refusing to set the clock: the agent is neither the guest's init (PID 1) nor a systemd service");
  }
  if (!Number.isFinite(sec) || !Number.isFinite(usec) || usec < 0 || usec >= 1_000_000) {
    throw invalid(`SetGuestDateTime: Usec ${usec} is not in [0, 1000000)`);
  }
  setTimeOfDay(sec, usec);
}

/**
 * Mixes the host's random bytes into the guest's pool, credits them as entropy (one bit per byte,
 * Kata's count) and reseeds the CRNG (Kata's random.rs reseed_rng). Empty data is an error, as in Kata.
 */
export function reseedRandom(data: Uint8Array, device = "/dev/random"): void {
  if (data.length === 0) throw invalid("ReseedRandomDev: data is empty (missing entropy data)");
  mixIntoRandom(device, data, data.length);
}

