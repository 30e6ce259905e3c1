// Whether a process would act on a signal, from the SigBlk/SigIgn/SigCgt masks of
// /proc/<pid>/status (Kata's rpc.rs is_signal_handled, which SignalProcess uses to turn SIGTERM
// into SIGKILL for a container init without a handler).
import { readFileSync } from "node:fs";

/** True when any of the blocked, ignored or caught masks has the signal's bit. */
export function signalHandledIn(status: string, sig: number): boolean {
  if (!Number.isInteger(sig) || sig < 1 || sig > 64) return false;
  const bit = 1n << BigInt(sig - 1);
  for (const line of status.split("\n")) {
    const m = /^(SigBlk|SigIgn|SigCgt):\s*([0-9a-fA-F]+)\s*$/.exec(line);
    if (m && (BigInt("0x" + m[2]) & bit) !== 0n) return true;
  }
  return false;
}

/**
 * True when the process neither blocks, ignores nor catches `sig`: as pid 1 of its namespace it
 * would never see it. An unreadable status (the process is gone) counts as not handled, as in Kata.
 */
export function lacksHandler(pid: number, sig: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return true;
  }
  return !signalHandledIn(status, sig);
}
