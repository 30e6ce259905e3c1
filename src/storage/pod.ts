// The storage side of a sandbox (Kata's add_storages / remove_container_resources, setup_bundle,
// setup_guest_dns, add_hooks): the storage table, the bind watcher, the guest hooks, the DNS
// bind, and per container the references it holds and its bundle. Sandbox calls it on
// CreateSandbox, CreateContainer, RemoveContainer and DestroySandbox; it loads with the first
// CreateSandbox or CreateContainer.
import type { ISpec } from "../container/oci-types.ts";
import { validateId } from "../container/id.ts";
import type { StorageContext, StorageSpec } from "./driver.ts";
import { needsBundle, setupBundle, type Bundle } from "./bundle.ts";
import { setupGuestDns } from "./dns.ts";
import { mergeGuestHooks, scanGuestHooks, type GuestHooks } from "./guest-hooks.ts";
import { checkSpecSources, storagesUsedBy } from "./spec-sources.ts";
import { StorageTable } from "./table.ts";
import { BindWatcher } from "./watchable.ts";
import { driverNames } from "./drivers.ts";

export interface SandboxStorageInput {
  sandboxId: string;
  storages: StorageSpec[];
  dns: string[];
  guestHookPath: string;
  hotplugTimeoutMs: number;
}

export interface PreparedContainer {
  /** The spec to create the container from (guest hooks merged, Root.Path = the bundle's rootfs). */
  spec: ISpec;
  /** OCI bundle directory, when the agent made one. */
  bundlePath?: string;
}

interface Held {
  mountPoints: string[];
  bundle?: Bundle;
}

export class PodStorage {
  readonly table = new StorageTable();
  readonly watcher = new BindWatcher();
  private hooks: GuestHooks | undefined;
  private dnsUndo: (() => void) | undefined;
  private sandboxMounts: string[] = [];
  private readonly held = new Map<string, Held>();
  private sandboxId = "";
  private hotplugTimeoutMs = 3000;

  static handlers(): string[] {
    return driverNames();
  }

  private ctx(containerId?: string): StorageContext {
    return { sandboxId: this.sandboxId, containerId, hotplugTimeoutMs: this.hotplugTimeoutMs, watcher: this.watcher };
  }

  /** CreateSandbox: storages, then guest hooks, then DNS (Kata's order); undone on failure. */
  async setupSandbox(input: SandboxStorageInput): Promise<void> {
    this.sandboxId = input.sandboxId;
    this.hotplugTimeoutMs = input.hotplugTimeoutMs;
    const hooks = input.guestHookPath ? scanGuestHooks(input.guestHookPath) : undefined;
    this.table.check(input.storages, "storages");
    this.sandboxMounts = await this.table.add(input.storages, this.ctx(), "storages");
    try {
      this.dnsUndo = setupGuestDns(input.dns);
    } catch (e) {
      await this.table.release(this.sandboxMounts);
      this.sandboxMounts = [];
      throw e;
    }
    this.hooks = hooks;
  }

  /**
   * CreateContainer, before the container is planned: its storages mounted, the storages its
   * spec takes paths from retained, every guest path it names checked, hooks merged, bundle made.
   * The returned release() undoes it all (also what releaseContainer does later).
   */
  async prepareContainer(cid: string, spec: ISpec, storages: StorageSpec[]): Promise<PreparedContainer> {
    validateId("container", cid);
    const taken = await this.table.add(storages, this.ctx(cid), "storages");
    const held: Held = { mountPoints: taken };
    try {
      checkSpecSources(spec, this.table);
      const used = storagesUsedBy(spec, this.table).filter((mp) => !taken.includes(mp));
      this.table.retain(used);
      held.mountPoints = [...taken, ...used];
      let out = mergeGuestHooks(spec as ISpec & { Hooks?: Record<string, unknown> | null }, this.hooks) as ISpec;
      const root = spec.Root?.Path ?? "";
      if (needsBundle(root)) {
        held.bundle = setupBundle(cid, root, out);
        out = { ...out, Root: { ...out.Root, Path: held.bundle.rootfs } };
      }
      this.held.set(cid, held);
      return { spec: out, bundlePath: held.bundle?.path };
    } catch (e) {
      await this.table.release(held.mountPoints);
      throw e;
    }
  }

  /** RemoveContainer (and a failed create): bundle removed, its storage references dropped. */
  async releaseContainer(cid: string): Promise<void> {
    const h = this.held.get(cid);
    if (!h) return;
    this.held.delete(cid);
    // Storages first: an overlay's rw layer lives in the bundle directory, which goes last.
    await this.table.release(h.mountPoints);
    h.bundle?.release();
  }

  /** DestroySandbox: everything, whatever its count. */
  async destroy(): Promise<void> {
    for (const cid of [...this.held.keys()]) await this.releaseContainer(cid);
    // DNS first: its file lives in the sandbox directory the shm storage made.
    this.dnsUndo?.();
    this.dnsUndo = undefined;
    await this.table.releaseAll();
    this.sandboxMounts = [];
    this.hooks = undefined;
  }
}
