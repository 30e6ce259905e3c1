// ephemeral: a tmpfs (memory emptyDir, the sandbox's /dev/shm) or a hugetlbfs whose pages are
// reserved first (Kata's EphemeralHandler). For tmpfs, "fsgid=N" is not a mount option: the
// root gets group N and the setgid bit. UpdateEphemeralMounts remounts them with new options.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { invalid } from "../errors.ts";
import { mount } from "../sys/mount.ts";
import type { StorageDriver, StorageSpec } from "./driver.ts";
import { mountError, mountGeneric } from "./mount-storage.ts";
import { keyValueOptions, parseGid, parseStorageOptions } from "./options.ts";
import { checkGuestPath } from "./paths.ts";

const HUGEPAGES = "/sys/kernel/mm/hugepages";
const MODE_SETGID = 0o2000;

function field(s: StorageSpec): string {
  return `storage ${s.mountPoint} (driver ephemeral)`;
}

/** pagesize= and size= of a hugetlbfs storage (options may hold comma lists, as in Kata). */
export function hugepageRequest(s: StorageSpec): { pageSize: number; pages: number } {
  let pageSize: string | undefined, size: string | undefined;
  for (const o of s.options) {
    for (const v of o.trim().split(",")) {
      if (v.startsWith("pagesize=")) pageSize = v.slice(9);
      else if (v.startsWith("size=")) size = v.slice(5);
    }
  }
  if (pageSize === undefined || size === undefined) throw invalid(`${field(s)}: hugetlbfs needs both pagesize= and size= options`);
  if (!/^\d+$/.test(pageSize) || Number(pageSize) === 0) throw invalid(`${field(s)}: pagesize=${pageSize} is not a byte count`);
  if (!/^\d+$/.test(size)) throw invalid(`${field(s)}: size=${size} is not a byte count`);
  return { pageSize: Number(pageSize), pages: Math.floor(Number(size) / Number(pageSize)) };
}

function allocateHugepages(s: StorageSpec): void {
  const { pageSize, pages } = hugepageRequest(s);
  const file = `${HUGEPAGES}/hugepages-${pageSize / 1024}kB/nr_hugepages`;
  if (!existsSync(file)) throw invalid(`${field(s)}: the guest has no ${pageSize}-byte huge pages (${file} missing)`);
  writeFileSync(file, String(pages));
  const got = Number(readFileSync(file, "utf8").trim());
  if (got !== pages) throw invalid(`${field(s)}: only ${got} of ${pages} huge pages of ${pageSize} bytes could be allocated`);
}

export const ephemeralDriver: StorageDriver = {
  names: ["ephemeral"],
  add: async (s) => {
    if (s.fstype === "hugetlbfs") {
      allocateHugepages(s);
      return mountGeneric(s);
    }
    if (s.fstype !== "tmpfs") throw invalid(`${field(s)}: fstype ${JSON.stringify(s.fstype)} is not tmpfs or hugetlbfs`);
    const kv = keyValueOptions(s.options);
    const fsgid = kv.has("fsgid") ? parseGid(`${field(s)} option fsgid`, kv.get("fsgid")!) : undefined;
    const m = mountGeneric(s, { options: s.options.filter((o) => !o.startsWith("fsgid=")) });
    if (fsgid !== undefined) {
      try {
        chownSync(s.mountPoint, -1, fsgid);
        chmodSync(s.mountPoint, (statSync(s.mountPoint).mode & 0o7777) | MODE_SETGID);
      } catch (e) {
        await m.release();
        throw e;
      }
    }
    return m;
  },
};

/**
 * UpdateEphemeralMounts: each ephemeral storage is mounted at its mount point with its (new)
 * options, fsgid= left out — the runtime sends "remount" and the new size; only the ephemeral
 * driver is accepted, as in Kata.
 */
export function updateEphemeralMount(s: StorageSpec): void {
  if (s.driver !== "ephemeral") {
    throw invalid(`storage ${s.mountPoint}: driver ${JSON.stringify(s.driver)} cannot be updated; only ephemeral storages can`);
  }
  const mp = checkGuestPath(`storage ${s.mountPoint} mount_point`, s.mountPoint);
  mkdirSync(mp, { recursive: true });
  if (s.options.length === 0) return;
  const { flags, data } = parseStorageOptions(field(s), s.options.filter((o) => !o.startsWith("fsgid=")));
  try {
    // The runtime sends ["remount", "size=<N>M", fsgid?]: MS_REMOUNT changes the size in place.
    mount(s.source, mp, s.fstype, flags, data);
  } catch (e) {
    throw mountError(s, s.fstype, data, e);
  }
}
