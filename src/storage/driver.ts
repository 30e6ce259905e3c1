// The contract between the storage table (src/storage/) and its drivers. A Storage of the wire
// (CreateSandbox/CreateContainer `storages`) becomes a StorageSpec at the services layer; the
// table looks up the driver by name, asks it to mount, and keeps the result with a reference
// count keyed by mount point. Drivers for block devices (blk, mmioblk, scsi, nvdimm) live next
// to the generic ones and find their device through the DeviceWaiter (src/device/).

/** One storage request, as plain data (Kata's protocols::agent::Storage). */
export interface StorageSpec {
  driver: string;
  driverOptions: string[];
  source: string;
  fstype: string;
  options: string[];
  mountPoint: string;
  /** Kata's fs_group: chown/chmod the mounted tree for this gid. */
  fsGroup?: { groupId: number; changePolicy: "always" | "on-root-mismatch" };
  /** Kept until the sandbox ends even when no container uses it any more. */
  shared: boolean;
}

/** What a driver may use while mounting. */
export interface StorageContext {
  /** agent.hotplug_timeout, for drivers that wait for a device. */
  hotplugTimeoutMs: number;
  sandboxId: string;
  /** The container the storage is for; absent for sandbox storages. */
  containerId?: string;
  /** Finds (or waits for) a guest block device; provided once src/device/ exists. */
  devices?: DeviceWaiter;
  /** The sandbox's bind watcher, for watchable-bind storages (src/storage/watchable.ts). */
  watcher?: { add(s: StorageSpec, containerId: string | undefined): Promise<MountedStorage> };
}

/** A device found in the guest: its /dev path and numbers. */
export interface GuestDevice {
  devPath: string;
  major: number;
  minor: number;
}

export interface DeviceWaiter {
  /** Waits up to timeoutMs for the block device behind a driver-specific source (PCI path,
   *  SCSI address, pmem region, MMIO path); DEADLINE_EXCEEDED naming it when it never comes. */
  blockDevice(kind: "pci" | "scsi" | "pmem" | "mmio", source: string, timeoutMs: number): Promise<GuestDevice>;
}

/** A storage that is in place. `release` undoes everything `add` did (unmount, remove dirs it
 *  made, stop watchers); the table calls it when the last user is gone. */
export interface MountedStorage {
  mountPoint: string;
  release(): Promise<void> | void;
}

export interface StorageDriver {
  /** Kata's driver names: "virtio-fs", "9p", "overlayfs", "bind", "ephemeral", "local",
   *  "watchable-bind", "blk", "mmioblk", "scsi", "nvdimm". */
  readonly names: readonly string[];
  add(s: StorageSpec, ctx: StorageContext): Promise<MountedStorage>;
}
