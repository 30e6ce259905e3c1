// Storage drivers for block devices (Kata's storage/block_handler.rs): blk (virtio-blk by PCI path,
// or a /dev path that exists), mmioblk (virtio-mmio, by /dev path), scsi (by "<target>:<lun>"),
// nvdimm (pmem by /dev path; `dax` is an ordinary mount option). Each finds the device (waiting
// up to agent.hotplug_timeout), optionally makes an ext4 on it (driver option
// "create_filesystem"), and mounts it at the storage's mount point.
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { AgentError, invalid } from "../errors.ts";
import { DeviceFinder, deviceNumbers } from "../device/devices.ts";
import { deviceHub } from "../device/uevent-listener.ts";
import { runProgram } from "../sys/run-program.ts";
import type { DeviceWaiter, GuestDevice, MountedStorage, StorageContext, StorageDriver, StorageSpec } from "./driver.ts";
import { mountGeneric } from "./mount-storage.ts";

/** KATA_BLOCK_VOLUME_CREATE_FS: make a filesystem on a fresh (empty) volume before mounting. */
export const CREATE_FS = "create_filesystem";
const EPHEMERAL_ENCRYPTION = "encryption_key=ephemeral";
/** Kata's options for block emptyDirs: no journal, no reserved blocks, few inodes. */
const MKFS_EXT4_OPTS = ["-O", "^has_journal", "-m", "0", "-i", "163840", "-I", "128"];
const MKFS_TIMEOUT_MS = 120_000;

function waiter(ctx: StorageContext): DeviceWaiter {
  return ctx.devices ?? new DeviceFinder(deviceHub());
}

/** The device behind the storage's source; errors keep their kind and name the storage. */
async function find(s: StorageSpec, ctx: StorageContext, kind: "pci" | "scsi" | "pmem" | "mmio"): Promise<GuestDevice> {
  try {
    return await waiter(ctx).blockDevice(kind, s.source, ctx.hotplugTimeoutMs);
  } catch (e) {
    (e as Error).message = `${field(s)}: ${(e as Error).message}`;
    throw e;
  }
}

function field(s: StorageSpec): string {
  return `storage ${s.mountPoint} (driver ${s.driver})`;
}

/** Driver options this file understands; anything else is refused by name. */
function checkDriverOptions(s: StorageSpec): { createFs: boolean } {
  let createFs = false;
  for (const o of s.driverOptions) {
    if (o === CREATE_FS) createFs = true;
    else if (o === EPHEMERAL_ENCRYPTION) {
      throw invalid(`${field(s)}: driver option ${o} needs the confidential data hub, which this agent does not have`);
    } else throw invalid(`${field(s)}: unknown driver option ${JSON.stringify(o)}`);
  }
  return { createFs };
}

/** What the start of a device holds: an ext4 superblock, nothing (all zero), or something else. */
export function probeDevice(devPath: string): "ext4" | "empty" | "other" {
  const buf = Buffer.alloc(64 * 1024);
  const fd = openSync(devPath, "r");
  let n: number;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  // ext2/3/4 superblock at byte 1024, magic 0xEF53 at offset 56 of it
  if (n >= 1082 && buf.readUInt16LE(1080) === 0xef53) return "ext4";
  return buf.subarray(0, n).every((b) => b === 0) ? "empty" : "other";
}

/** mkfs.ext4 for a fresh volume (Kata runs it with -F each time; we format only an all-zero
 *  device, keep an existing ext4, and refuse anything else rather than wipe data). */
export async function ensureExt4(s: StorageSpec, dev: GuestDevice): Promise<void> {
  if (s.fstype !== "ext4") throw invalid(`${field(s)}: creating a ${JSON.stringify(s.fstype)} filesystem is not supported (only ext4)`);
  const found = probeDevice(dev.devPath);
  if (found === "ext4") return;
  if (found === "other") throw invalid(`${field(s)}: ${dev.devPath} is not empty and holds no ext4 filesystem; not formatting it`);
  const mkfs = ["/sbin", "/usr/sbin", "/bin", "/usr/bin"].map((d) => `${d}/mkfs.ext4`).find((p) => existsSync(p));
  if (!mkfs) throw new AgentError("precondition", `${field(s)}: create_filesystem needs mkfs.ext4, which is not in the guest (/sbin, /usr/sbin, /bin, /usr/bin)`);
  const r = await runProgram(mkfs, ["-F", ...MKFS_EXT4_OPTS, dev.devPath], { timeoutMs: MKFS_TIMEOUT_MS });
  if (r.code !== 0) {
    throw new AgentError("internal", `${field(s)}: mkfs.ext4 ${dev.devPath} failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}): ${r.stderr.trim().slice(0, 500)}`);
  }
}

async function finish(s: StorageSpec, dev: GuestDevice): Promise<MountedStorage> {
  const { createFs } = checkDriverOptions(s);
  if (createFs) await ensureExt4(s, dev);
  return mountGeneric({ ...s, source: dev.devPath });
}

/** A device named by a /dev path must exist and be a block device (no waiting: Kata's rule). */
function existingBlock(s: StorageSpec): GuestDevice {
  const d = deviceNumbers(s.source, `${field(s)} source`);
  if (d.type !== "b") throw invalid(`${field(s)}: source ${s.source} is not a block device`);
  return d;
}

export const blkDriver: StorageDriver = {
  names: ["blk"],
  async add(s, ctx) {
    checkDriverOptions(s);
    const dev = s.source.startsWith("/dev") ? existingBlock(s) : await find(s, ctx, "pci");
    return finish(s, dev);
  },
};

export const mmioBlkDriver: StorageDriver = {
  names: ["mmioblk"],
  async add(s, ctx) {
    checkDriverOptions(s);
    return finish(s, await find(s, ctx, "mmio"));
  },
};

export const scsiDriver: StorageDriver = {
  names: ["scsi"],
  async add(s, ctx) {
    checkDriverOptions(s);
    return finish(s, await find(s, ctx, "scsi"));
  },
};

export const nvdimmDriver: StorageDriver = {
  names: ["nvdimm"],
  async add(s, ctx) {
    // Kata's PmemHandler mounts with the request's options as they are (no mkfs).
    if (s.driverOptions.length > 0) throw invalid(`${field(s)}: driver options ${JSON.stringify(s.driverOptions)} are not supported for nvdimm`);
    const dev = await find(s, ctx, "pmem");
    return mountGeneric({ ...s, source: dev.devPath });
  },
};

export const blockDrivers: readonly StorageDriver[] = [blkDriver, mmioBlkDriver, scsiDriver, nvdimmDriver];
