// local: a directory made in the guest (a disk emptyDir kept in the sandbox's rootfs when the
// runtime does not share it), with mode= and fsgid= (Kata's LocalHandler). Release removes the
// directories it made with their content (an emptyDir ends with its pod; Kata leaks them).
import { chmodSync, chownSync, rmSync } from "node:fs";
import type { StorageDriver } from "./driver.ts";
import { makeMountPoint, removeMadePath } from "./mount-storage.ts";
import { keyValueOptions, parseGid, parseMode } from "./options.ts";

const MODE_SETGID = 0o2000;

export const localDriver: StorageDriver = {
  names: ["local"],
  add: async (s) => {
    const field = `storage ${s.mountPoint} (driver local) option`;
    const kv = keyValueOptions(s.options);
    const gid = kv.has("fsgid") ? parseGid(`${field} fsgid`, kv.get("fsgid")!) : undefined;
    const mode = kv.has("mode") ? parseMode(`${field} mode`, kv.get("mode")!) : undefined;
    const made = makeMountPoint(s.mountPoint, false);
    try {
      if (gid !== undefined) chownSync(s.mountPoint, -1, gid);
      if (mode !== undefined) chmodSync(s.mountPoint, gid !== undefined ? mode | MODE_SETGID : mode);
    } catch (e) {
      removeMadePath(s.mountPoint, made);
      throw e;
    }
    return {
      mountPoint: s.mountPoint,
      release: () => {
        if (made.topDir) rmSync(made.topDir, { recursive: true, force: true });
      },
    };
  },
};
