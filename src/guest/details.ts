// GetGuestDetails: what the runtime asks right after CreateSandbox (memory block size for
// hotplug, whether the probe interface exists, and what this agent supports).
import { existsSync, readFileSync } from "node:fs";
import { AGENT_VERSION } from "../version.ts";

const BLOCK_SIZE = "/sys/devices/system/memory/block_size_bytes";
const PROBE = "/sys/devices/system/memory/probe";

export interface GuestDetails {
  mem_block_size_bytes: number;
  support_mem_hotplug_probe: boolean;
  agent_details: {
    version: string;
    init_daemon: boolean;
    device_handlers: string[];
    storage_handlers: string[];
    supports_seccomp: boolean;
    extra_features: string[];
  };
}

export function guestDetails(o: { memBlockSize: boolean; memHotplugProbe: boolean; initDaemon: boolean; storageHandlers?: string[] }): GuestDetails {
  let size = 0;
  if (o.memBlockSize && existsSync(BLOCK_SIZE)) {
    // The file holds a hex number without 0x (e.g. "8000000").
    size = parseInt(readFileSync(BLOCK_SIZE, "utf8").trim(), 16) || 0;
  }
  return {
    mem_block_size_bytes: size,
    support_mem_hotplug_probe: o.memHotplugProbe && existsSync(PROBE),
    agent_details: {
      version: AGENT_VERSION,
      init_daemon: o.initDaemon,
      device_handlers: [],
      storage_handlers: o.storageHandlers ?? [],
      // Linux.Seccomp is compiled (src/seccomp/) and loaded by the launcher.
      supports_seccomp: true,
      extra_features: [],
    },
  };
}
