// The storage RPCs' domain half: GetVolumeStats (statfs: bytes and inodes, Kata's VolumeStats
// shape), RemoveStaleVirtiofsShareMounts (stat every mount below the share so virtiofsd drops
// stale inodes), GetDiagnosticData's termination log (the source of the terminationMessagePath
// mount, at most 4 KiB, as Kata).
import { readFileSync, statfsSync, statSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { invalid, notFound } from "../errors.ts";
import { log } from "../log/logger.ts";
import { mountTable } from "../sys/mount.ts";
import { SHARED_DIR } from "./paths.ts";

export interface VolumeUsage {
  total: number;
  available: number;
  used: number;
  unit: "bytes" | "inodes";
}

export function volumeStats(path: string): { usage: VolumeUsage[]; condition: { abnormal: boolean; message: string } } {
  if (!path.startsWith("/")) throw invalid(`volume_guest_path ${JSON.stringify(path)} is not an absolute path`);
  try {
    statSync(path);
  } catch {
    throw notFound(`volume_guest_path ${JSON.stringify(path)} does not exist in the guest`);
  }
  const s = statfsSync(path);
  const total = s.blocks * s.bsize, available = s.bfree * s.bsize;
  return {
    usage: [
      { total, available, used: total - available, unit: "bytes" },
      { total: s.files, available: s.ffree, used: s.files - s.ffree, unit: "inodes" },
    ],
    condition: { abnormal: false, message: "OK" },
  };
}

/** stat() every mount point below the share; failures are only logged (Kata does the same). */
export async function touchShareMounts(): Promise<number> {
  const mounts = mountTable().filter((m) => m.mountPoint.startsWith(SHARED_DIR));
  for (const m of mounts) {
    await fsp.stat(m.mountPoint).catch((e) => log.info("stat of share mount failed", { mount_point: m.mountPoint, error: (e as Error).message }));
  }
  return mounts.length;
}

export const MAX_TERMINATION_MSG = 4096;
const TERMINATION_ANNOTATION = "io.kubernetes.container.terminationMessagePath";

interface SpecLike {
  Annotations?: Record<string, string> | { [k: string]: string } | null;
  Mounts?: ({ destination?: string | null; source?: string | null } | null)[] | null;
}

/** The termination message of a container: "" when the file does not exist yet. */
export function readTerminationLog(cid: string, spec: SpecLike): string {
  const dest = spec.Annotations?.[TERMINATION_ANNOTATION];
  if (!dest) throw invalid(`container ${cid} has no ${TERMINATION_ANNOTATION} annotation`);
  const m = (spec.Mounts ?? []).find((x) => x?.destination === dest);
  if (!m?.source) throw invalid(`container ${cid}: no mount has the termination message path ${dest} as destination`);
  let buf: Buffer;
  try {
    buf = readFileSync(m.source);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw e;
  }
  return new TextDecoder().decode(buf.subarray(0, MAX_TERMINATION_MSG));
}
