// The sandbox-wide storage table (Kata's Sandbox.storages with add_sandbox_storage /
// remove_sandbox_storage): one entry per mount point with a reference count. The first user
// mounts it through its driver; later users only take a reference; the last release undoes the
// mount — unless the storage is `shared`, which stays until the sandbox ends. A request's
// storages are all checked before anything is mounted, and a failed request releases what it
// took, so no mount outlives a failed create.
import { invalid } from "../errors.ts";
import { log } from "../log/logger.ts";
import type { MountedStorage, StorageContext, StorageDriver, StorageSpec } from "./driver.ts";
import { driverFor } from "./drivers.ts";
import { checkGuestPath } from "./paths.ts";

const tlog = log.child({ subsystem: "storage" });

interface Entry {
  spec: StorageSpec;
  refs: number;
  /** Settles once the first user's mount finished (or failed: then the entry is gone). */
  ready: Promise<MountedStorage>;
}

export interface StorageEntryView {
  mountPoint: string;
  driver: string;
  source: string;
  refs: number;
  shared: boolean;
}

export class StorageTable {
  private readonly entries = new Map<string, Entry>();

  /** `lookup` finds a driver by name (the driver table; tests give their own). */
  constructor(private readonly lookup: (name: string, field: string) => StorageDriver = driverFor) {}

  /** Checks a request's storages (driver, mount point) without side effects; returns them normalised. */
  check(specs: readonly StorageSpec[], field: string): StorageSpec[] {
    const seen = new Set<string>();
    return specs.map((s, i) => {
      const f = `${field}[${i}]`;
      this.lookup(s.driver, `${f}.driver`);
      const mountPoint = checkGuestPath(`${f}.mount_point`, s.mountPoint);
      if (seen.has(mountPoint)) throw invalid(`${f}.mount_point ${mountPoint} appears twice in one request`);
      seen.add(mountPoint);
      return { ...s, mountPoint };
    });
  }

  /**
   * Takes one reference on each storage (mounting those not in the table yet) and returns the
   * mount points taken, in order. On failure every reference taken here is released again.
   */
  async add(specs: readonly StorageSpec[], ctx: StorageContext, field: string): Promise<string[]> {
    const checked = this.check(specs, field);
    const taken: string[] = [];
    try {
      for (const s of checked) {
        await this.acquire(s, ctx);
        taken.push(s.mountPoint);
      }
    } catch (e) {
      await this.release(taken.reverse());
      throw e;
    }
    return taken;
  }

  private async acquire(s: StorageSpec, ctx: StorageContext): Promise<void> {
    const have = this.entries.get(s.mountPoint);
    if (have) {
      have.refs++;
      try {
        await have.ready;
      } catch (e) {
        throw invalid(`storage ${s.mountPoint}: the mount this request shares failed: ${(e as Error).message}`);
      }
      return;
    }
    const driver = this.lookup(s.driver, `storage ${s.mountPoint}`);
    const entry: Entry = { spec: s, refs: 1, ready: driver.add(s, ctx) };
    this.entries.set(s.mountPoint, entry);
    try {
      await entry.ready;
    } catch (e) {
      this.entries.delete(s.mountPoint);
      throw e;
    }
  }

  /** One more reference on storages already in the table (a container whose spec uses them). */
  retain(mountPoints: readonly string[]): void {
    for (const mp of mountPoints) {
      const e = this.entries.get(mp);
      if (e) e.refs++;
    }
  }

  /** Drops one reference per mount point; the last non-shared one releases the storage. */
  async release(mountPoints: readonly string[]): Promise<void> {
    for (const mp of mountPoints) {
      const e = this.entries.get(mp);
      if (!e) continue; // failed while being mounted: nothing to undo
      e.refs--;
      if (e.refs > 0) continue;
      if (e.spec.shared) {
        e.refs = 1; // kept until the sandbox ends (Kata resets the count the same way)
        continue;
      }
      this.entries.delete(mp);
      await this.undo(mp, e);
    }
  }

  /** DestroySandbox: every storage released whatever its count, newest first. */
  async releaseAll(): Promise<void> {
    for (const [mp, e] of [...this.entries].reverse()) {
      this.entries.delete(mp);
      await this.undo(mp, e);
    }
  }

  private async undo(mp: string, e: Entry): Promise<void> {
    try {
      await (await e.ready).release();
      tlog.info("storage released", { mount_point: mp, driver: e.spec.driver });
    } catch (err) {
      tlog.warn("storage release failed", { mount_point: mp, driver: e.spec.driver, error: (err as Error).message });
    }
  }

  /** The entry holding `path` (its mount point or a path below it), for error messages. */
  holderOf(path: string): StorageEntryView | undefined {
    let best: StorageEntryView | undefined;
    for (const [mp, e] of this.entries) {
      if ((path === mp || path.startsWith(`${mp}/`)) && (!best || mp.length > best.mountPoint.length)) best = view(mp, e);
    }
    return best;
  }

  get(mountPoint: string): StorageEntryView | undefined {
    const e = this.entries.get(mountPoint);
    return e && view(mountPoint, e);
  }

  list(): StorageEntryView[] {
    return [...this.entries].map(([mp, e]) => view(mp, e));
  }
}

function view(mp: string, e: Entry): StorageEntryView {
  return { mountPoint: mp, driver: e.spec.driver, source: e.spec.source, refs: e.refs, shared: e.spec.shared };
}
