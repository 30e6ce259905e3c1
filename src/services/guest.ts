// Guest-wide RPCs that are not about one container: details, files, clock, randomness.
import { copyFile } from "../guest/copy-file.ts";
import { guestDetails } from "../guest/details.ts";
import { clockOwnership, reseedRandom, setGuestDateTime } from "../guest/clock-random.ts";
import { EMPTY, type AgentHandlers, type ServiceDeps } from "./deps.ts";

export function guestHandlers(d: ServiceDeps): AgentHandlers {
  return {
    GetGuestDetails: async (r) =>
      guestDetails({
        memBlockSize: !!r.mem_block_size, memHotplugProbe: !!r.mem_hotplug_probe, initDaemon: d.ownsMachine,
        storageHandlers: (await import("../storage/drivers.ts")).driverNames(),
      }),
    CopyFile: (r) => (
      copyFile({
        path: r.path ?? "", file_size: r.file_size ?? 0, file_mode: r.file_mode ?? 0, dir_mode: r.dir_mode ?? 0,
        uid: r.uid ?? 0, gid: r.gid ?? 0, offset: r.offset ?? 0, data: r.data ?? new Uint8Array(0),
      }), EMPTY),
    SetGuestDateTime: (r) => (setGuestDateTime(r.Sec ?? 0, r.Usec ?? 0, clockOwnership(d.ownsMachine)), EMPTY),
    ReseedRandomDev: (r) => (reseedRandom(r.data ?? new Uint8Array(0)), EMPTY),
  };
}
