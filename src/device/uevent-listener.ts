// The agent's one uevent listener (Kata's watch_uevents), so that a device hot-plugged before the
// RPC that needs it is already recorded. It is event-driven (a native thread asleep in poll, a
// pipe Bun reads): nothing runs while no device changes. The agent arms it at start-up and it
// starts just after the first answer (or a short timer, or the first RPC that needs devices):
// opening it costs ~1–2 ms of the agent's only thread, which is kept off the path to "ready".
// Nothing is missed by the delay: every wait checks sysfs (`present()`) for a device that was
// there before the listener, after the socket is bound.
// The agent imports this module right after it starts listening, usually before the first Check
// is answered, to arm the listener; so node:fs and the socket code (which loads the embedded
// native thread) are required only once the listener starts (node:fs alone is ~0.75 ms).
import type { Logger } from "../log/logger.ts";
import type { UeventSocket } from "../sys/uevent-socket.ts";
import { parseUevent, UeventHub, type Uevent } from "./uevent.ts";

export interface Listener {
  hub: UeventHub;
  stop(): void;
  /** Resolves when the stream ended (after stop()). */
  done: Promise<void>;
  /** True while a socket feeds the hub. */
  live: boolean;
}

let current: Listener | undefined;
let hooked = false;
/** Set by armUeventListener until the listener is started. */
let armed: { log: Logger; timer: ReturnType<typeof setTimeout> } | undefined;

function idle(hub: UeventHub): Listener {
  return { hub, stop() {}, done: Promise.resolve(), live: false };
}

/** The running listener's hub; a hub without a listener when none was started (it then relies on
 *  sysfs `present()` checks and times out for devices that are still to come). */
export function deviceHub(): UeventHub {
  if (armed) startArmed();
  return (current ??= idle(new UeventHub())).hub;
}

function startArmed(): void {
  const a = armed;
  if (!a) return;
  armed = undefined;
  clearTimeout(a.timer);
  startUeventListener(a.log);
}

/** Arms the listener: it starts on kick() (the agent's first answer is out), after `ms`, or
 *  when a device RPC asks for the hub, whichever comes first. */
export function armUeventListener(log: Logger, ms: number): { kick(): void } {
  if (!armed && !current?.live) armed = { log, timer: setTimeout(startArmed, ms) };
  return { kick: () => void (armed && setImmediate(startArmed)) };
}

/** Memory hot-add: Kata onlines every new memory block itself (process_add). */
export function memoryOnlineHook(sysRoot: string, log: Logger): (ev: Uevent) => boolean {
  const { readFileSync, writeFileSync } = require("node:fs") as typeof import("node:fs");
  return (ev) => {
    if (ev.action !== "add" || !/^\/devices\/system\/memory\/memory\d+$/.test(ev.devpath)) return false;
    const path = `${sysRoot}${ev.devpath}/online`;
    try {
      if (readFileSync(path, "utf8").trim() === "1") return true; // onlined already (by the kernel or OnlineCPUMem)
      writeFileSync(path, "1");
      log.info("memory block onlined", { devpath: ev.devpath });
    } catch (e) {
      log.error("failed to online memory block", { devpath: ev.devpath, error: (e as Error).message });
    }
    return true;
  };
}

/** Starts the listener (once). A socket that cannot be opened is logged; devices are then found
 *  only through sysfs. */
export function startUeventListener(log: Logger, opts: { sysRoot?: string } = {}): Listener {
  if (current?.live) return current;
  const hub = current?.hub ?? new UeventHub(log);
  if (!hooked) hub.addHook(memoryOnlineHook(opts.sysRoot ?? "/sys", log));
  hooked = true;
  let sock: UeventSocket;
  try {
    sock = (require("../sys/uevent-socket.ts") as typeof import("../sys/uevent-socket.ts")).openUeventSocket();
  } catch (e) {
    log.error("uevent listener not started: hot-plugged devices will not be seen", { error: (e as Error).message });
    current = idle(hub);
    return current;
  }
  let stopping = false;
  const done = (async () => {
    for await (const f of sock.frames) {
      if ("overflow" in f) {
        log.error("uevent socket overflowed: some device events were lost");
        continue;
      }
      const ev = parseUevent(f.data);
      if (!ev) continue;
      log.debug("uevent", { ...ev });
      hub.handle(ev);
    }
    if (!stopping) log.error("uevent reader ended: hot-plugged devices will not be seen any more");
  })().catch((e) => log.error("uevent listener stopped", { error: (e as Error).message }));
  const l = { hub, stop: () => ((stopping = true), sock.stop()), done, live: true };
  current = l;
  log.info("uevent listener started");
  return l;
}

/** Stops the listener (tests); the hub and its map stay. */
export async function stopUeventListener(): Promise<void> {
  if (armed) clearTimeout(armed.timer), (armed = undefined);
  const l = current;
  if (!l?.live) return;
  l.stop();
  await l.done;
  current = idle(l.hub);
}
