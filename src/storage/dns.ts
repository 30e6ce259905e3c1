// CreateSandbox.dns (Kata's setup_guest_dns): the lines are written to
// /run/kata-containers/sandbox/resolv.conf, which is bound over the guest's /etc/resolv.conf.
// Skipped (as in Kata) when the list is empty or the guest has no /etc/resolv.conf; a directory
// there is an error. undo() removes the bind and the file.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { precondition } from "../errors.ts";
import { MS, mount } from "../sys/mount.ts";
import { removeMadePath, unmountStorage } from "./mount-storage.ts";
import { SANDBOX_DIR } from "./paths.ts";

export const SANDBOX_RESOLV = `${SANDBOX_DIR}/resolv.conf`;
export const GUEST_RESOLV = "/etc/resolv.conf";

export function resolvConfText(dns: readonly string[]): string {
  return dns.map((l) => l.trim()).join("\n");
}

/** Returns the undo, or undefined when nothing was done. */
export function setupGuestDns(dns: readonly string[], guestFile = GUEST_RESOLV): (() => void) | undefined {
  if (dns.length === 0) return undefined;
  if (!existsSync(guestFile)) return undefined;
  if (statSync(guestFile).isDirectory()) throw precondition(`dns: ${guestFile} is a directory in the guest`);
  const made = mkdirSync(SANDBOX_DIR, { recursive: true }) ?? undefined;
  const undo = (bound: boolean) => {
    if (bound) unmountStorage(guestFile);
    rmSync(SANDBOX_RESOLV, { force: true });
    if (made) removeMadePath(SANDBOX_DIR, { topDir: made });
  };
  writeFileSync(SANDBOX_RESOLV, resolvConfText(dns));
  try {
    mount(SANDBOX_RESOLV, guestFile, "", MS.BIND);
  } catch (e) {
    undo(false);
    throw e;
  }
  return () => undo(true);
}
