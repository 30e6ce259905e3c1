// The storage driver table: Kata's driver names -> handlers. A name not here is refused with
// INVALID_ARGUMENT naming it (never ignored).
import { invalid } from "../errors.ts";
import type { StorageDriver } from "./driver.ts";
import { blockDrivers } from "./block.ts";
import { ephemeralDriver } from "./ephemeral.ts";
import { bindDriver, ninePDriver, overlayDriver, virtioFsDriver } from "./fs-drivers.ts";
import { localDriver } from "./local.ts";
import { watchableBindDriver } from "./watchable.ts";

const DRIVERS: readonly StorageDriver[] = [
  virtioFsDriver,
  ninePDriver,
  overlayDriver,
  bindDriver,
  ephemeralDriver,
  localDriver,
  watchableBindDriver,
  ...blockDrivers, // blk, mmioblk, scsi, nvdimm
];

/** Kata drivers this agent does not have yet, so the refusal can say why. */
const NOT_YET: Readonly<Record<string, string>> = {
  "blk-ccw": "CCW block devices exist only on s390x",
  "image_guest_pull": "guest image pull is not supported",
  "erofs.multi-layer": "multi-layer EROFS is not supported",
};

const byName = new Map<string, StorageDriver>(DRIVERS.flatMap((d) => d.names.map((n) => [n, d] as const)));

/** Every driver name the agent handles (GetGuestDetails storage_handlers). */
export function driverNames(): string[] {
  return [...byName.keys()];
}

export function driverFor(name: string, field: string): StorageDriver {
  const d = byName.get(name);
  if (d) return d;
  const why = NOT_YET[name];
  if (why) throw invalid(`${field}: storage driver ${JSON.stringify(name)} is not available: ${why}`);
  throw invalid(`${field}: unknown storage driver ${JSON.stringify(name)}`);
}
