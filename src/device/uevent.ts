// Kernel uevents as the device code sees them (Kata's uevent.rs): parsing, a map of the devices
// that were added (by DEVPATH), and waiters with matchers. The socket side is
// src/sys/uevent-socket.ts; uevent-listener.ts connects the two.
//
// Never missing an event: JavaScript runs one thing at a time, so `wait` checks the map and
// registers its waiter in one synchronous step, and `handle` records an event and notifies the
// waiters in one step. An event handled before the wait is in the map; one handled after finds
// the waiter. Devices that existed before the listener started are found by the matcher's
// optional sysfs `present()` check.
import { AgentError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";

export interface Uevent {
  action: string;
  devpath: string;
  devname: string;
  subsystem: string;
  seqnum: string;
  interface: string;
}

/** Parses "action@devpath\0KEY=VALUE\0..." (the kernel's format). Null when it is not one. */
export function parseUevent(bytes: Uint8Array): Uevent | null {
  const parts = new TextDecoder().decode(bytes).split("\0");
  if (!parts[0]?.includes("@")) return null; // libudev's re-broadcasts start with "libudev"
  const ev: Uevent = { action: "", devpath: "", devname: "", subsystem: "", seqnum: "", interface: "" };
  for (const kv of parts.slice(1)) {
    const eq = kv.indexOf("=");
    if (eq <= 0) continue;
    const value = kv.slice(eq + 1);
    switch (kv.slice(0, eq)) {
      case "ACTION": ev.action = value; break;
      case "DEVPATH": ev.devpath = value; break;
      case "DEVNAME": ev.devname = value; break;
      case "SUBSYSTEM": ev.subsystem = value; break;
      case "SEQNUM": ev.seqnum = value; break;
      case "INTERFACE": ev.interface = value; break;
    }
  }
  return ev.action && ev.devpath ? ev : null;
}

export interface UeventMatcher {
  /** What is awaited, for logs and the DEADLINE_EXCEEDED message ("block device at PCI path 02/00"). */
  readonly what: string;
  matches(ev: Uevent): boolean;
  /** The device as it is already in sysfs (it came before the listener started), if it is. */
  present?(): Uevent | null;
}

interface Waiter {
  matcher: UeventMatcher;
  resolve(ev: Uevent): void;
}

export class UeventHub {
  /** Devices added and not removed since the listener started, by DEVPATH. */
  readonly seen = new Map<string, Uevent>();
  private waiters = new Set<Waiter>();
  private readonly hooks: ((ev: Uevent) => boolean)[] = [];

  constructor(private readonly log?: Logger) {}

  /** A hook sees every event first; returning true consumes it (memory blocks are onlined and
   *  not recorded, like Kata's process_add). */
  addHook(hook: (ev: Uevent) => boolean): void {
    this.hooks.push(hook);
  }

  handle(ev: Uevent): void {
    for (const h of this.hooks) if (h(ev)) return;
    if (ev.action === "remove") {
      this.seen.delete(ev.devpath);
      return;
    }
    if (ev.action !== "add") return;
    this.seen.set(ev.devpath, ev);
    for (const w of this.waiters) {
      if (w.matcher.matches(ev)) {
        this.waiters.delete(w);
        w.resolve(ev);
      }
    }
  }

  /** The first matching event: from the map, from sysfs, or the next one that arrives within
   *  timeoutMs; DEADLINE_EXCEEDED naming the device otherwise. */
  wait(matcher: UeventMatcher, timeoutMs: number): Promise<Uevent> {
    for (const ev of this.seen.values()) if (matcher.matches(ev)) return Promise.resolve(ev);
    const existing = matcher.present?.();
    if (existing) return Promise.resolve(existing);
    this.log?.info("waiting for device", { device: matcher.what, timeout_ms: timeoutMs });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new AgentError("deadline", `timed out after ${timeoutMs} ms (agent.hotplug_timeout) waiting for ${matcher.what}`));
      }, timeoutMs);
      const w: Waiter = {
        matcher,
        resolve: (ev) => {
          clearTimeout(timer);
          this.log?.info("device arrived", { device: matcher.what, devpath: ev.devpath, devname: ev.devname });
          resolve(ev);
        },
      };
      this.waiters.add(w);
    });
  }

  get waiting(): number {
    return this.waiters.size;
  }
}
