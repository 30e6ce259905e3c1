// The sandbox: the pod the agent serves. It owns the containers, the namespaces they share
// (pod-namespaces.ts: IPC, UTS, sandbox_pidns), and the queue of OOM events that GetOOMEvent
// long-polls.
import type { ISpec } from "../container/oci-types.ts";
import type { Logger } from "../log/logger.ts";
import type { Container, ContainerEnv } from "../container/container.ts";
import { validateId } from "../container/id.ts";
import { exists, invalid, precondition } from "../errors.ts";
import { setHostname } from "../sys/host.ts";
import type { DeviceSpec } from "../device/spec-devices.ts";
import type { KernelModule } from "./kernel-modules.ts";
import type { PodNamespaces } from "./pod-namespaces.ts";
import type { StorageSpec } from "../storage/driver.ts";
import type { PodStorage, SandboxStorageInput } from "../storage/pod.ts";

/** CreateSandbox's storage half (storages, dns, guest hooks), as plain data. */
export type SandboxStorageRequest = Omit<SandboxStorageInput, "sandboxId" | "hotplugTimeoutMs">;

export interface SandboxOptions {
  log: Logger;
  /** Or how to find it on first use: the agent leaves reading mountinfo out of its start-up. */
  cgroupVersion: 1 | 2 | (() => 1 | 2);
  pipeSize: number;
  /** Only an agent that owns the VM (PID 1) changes the machine's hostname. */
  ownsMachine: boolean;
  /** agent.hotplug_timeout, for storages and devices that wait for a device. */
  hotplugTimeoutMs?: number;
}

/** What CreateSandbox asks for, as plain data (services/sandbox.ts converts the request). */
export interface SandboxRequest {
  id: string;
  hostname: string;
  /** One pid namespace for every container (the Kata 1.x/2.x CreateSandbox flag). */
  sandboxPidns: boolean;
  /** Loaded with modprobe before the pod's namespaces are made; a failure fails CreateSandbox. */
  kernelModules?: KernelModule[];
  /** storages, dns, guest_hook_path (src/storage/pod.ts). */
  storage?: SandboxStorageRequest;
}

/** What CreateContainer asks for, as plain data (services/containers.ts converts the request). */
export interface ContainerRequest {
  id: string;
  execId: string;
  spec: ISpec | undefined;
  /** Join the sandbox's pid namespace (the first container's), Kata's per-container flag. */
  sandboxPidns?: boolean;
  /** The container's storages (mounted before it is created, released when it is removed). */
  storages?: StorageSpec[];
  /** Guest devices the container uses (Kata's Device list); their spec entries are rewritten. */
  devices?: DeviceSpec[];
}

export class Sandbox {
  id = "";
  hostname = "";
  readonly containers = new Map<string, Container>();
  /** Made on the first CreateSandbox or CreateContainer (loads the launcher). */
  private pod: PodNamespaces | undefined;
  private creatingSandbox = false;
  private oomEvents: string[] = [];
  private oomWaiters: ((id: string) => void)[] = [];
  private podStorage: PodStorage | undefined;

  constructor(private readonly opts: SandboxOptions) {}

  // The container machinery (spec planning, the launcher and its embedded programs, cgroups)
  // loads on first use: the agent answers Check sooner and an agent without containers does not
  // carry it (bench/: start-to-ready).
  private static readonly containerModule = () => import("../container/container.ts");
  private static readonly podModule = () => import("./pod-namespaces.ts");
  private static readonly modulesModule = () => import("./kernel-modules.ts");
  private static readonly storageModule = () => import("../storage/pod.ts");

  /** The storage table, bind watcher, bundles, DNS and guest hooks (loaded on first use). */
  async storage(): Promise<PodStorage> {
    this.podStorage ??= new (await Sandbox.storageModule()).PodStorage();
    return this.podStorage;
  }

  private async podNamespaces(): Promise<PodNamespaces> {
    const { PodNamespaces } = await Sandbox.podModule();
    return (this.pod ??= new PodNamespaces());
  }

  /** CreateSandbox: the sandbox id, hostname, kernel modules, the pod's shared namespaces (Kata's
   *  order), then storages, DNS and guest hooks. */
  async create(req: SandboxRequest): Promise<void> {
    if (this.id || this.creatingSandbox) throw exists(`sandbox ${this.id || "(being created)"} already exists`);
    if (req.id) validateId("sandbox", req.id);
    this.creatingSandbox = true;
    try {
      if (req.hostname && this.opts.ownsMachine) setHostname(req.hostname);
      await this.loadKernelModules(req.kernelModules ?? []);
      (await this.podNamespaces()).setUp({ hostname: req.hostname, pidnsForAll: req.sandboxPidns });
    } finally {
      this.creatingSandbox = false;
    }
    this.id = req.id || "sandbox";
    this.hostname = req.hostname;
    if (req.storage) await this.setupSandboxStorage(req.storage);
    this.opts.log.info("sandbox created", { sandbox: this.id, pidns: req.sandboxPidns });
  }

  /** DestroySandbox: every container removed, the pid namespace released. */
  async destroy(): Promise<void> {
    for (const [id, c] of [...this.containers]) {
      // An id reserved by a CreateContainer still in progress has no container yet.
      if (!c) {
        this.opts.log.warn("container still being created on DestroySandbox", { container: id });
        continue;
      }
      try {
        await c.remove(10);
      } catch (e) {
        this.opts.log.warn("remove container on DestroySandbox", { container: c.id, error: (e as Error).message });
      }
      this.containers.delete(c.id);
    }
    this.pod?.release();
    await this.podStorage?.destroy();
    this.opts.log.info("sandbox destroyed", { sandbox: this.id });
    this.id = "";
  }

  private async loadKernelModules(list: KernelModule[]): Promise<void> {
    if (list.length === 0) return;
    const { loadKernelModules } = await Sandbox.modulesModule();
    await loadKernelModules(list, this.opts.log);
  }

  private resolvedCgroupVersion: 1 | 2 | undefined;

  private cgroupVersion(): 1 | 2 {
    const v = this.opts.cgroupVersion;
    return (this.resolvedCgroupVersion ??= typeof v === "function" ? v() : v);
  }

  private env(pod: PodNamespaces, sandboxPidns: boolean, first: boolean): ContainerEnv {
    return {
      log: this.opts.log.child({ subsystem: "container" }),
      cgroupVersion: this.cgroupVersion(),
      pipeSize: this.opts.pipeSize,
      sandboxPidns: pod.pidnsFor(sandboxPidns, first),
      sharedNamespaces: pod.shared(),
      onOom: (id) => this.pushOom(id),
    };
  }

  async createContainer(req: ContainerRequest): Promise<Container> {
    const id = req.id;
    if (this.containers.has(id)) throw exists(`container ${id} already exists`);
    // Kata's "first container" (update_shared_pidns): no other container exists or is being made.
    const first = this.containers.size === 0;
    // Reserve the id while the (asynchronous) create runs, so a concurrent duplicate fails.
    this.containers.set(id, undefined as never);
    try {
      const { Container } = await Sandbox.containerModule();
      const pod = await this.storage();
      const namespaces = await this.podNamespaces();
      // Devices first, as Kata does: a device that is missing fails before any storage is taken.
      // Their guest numbers replace the host's in the spec.
      const spec = req.devices?.length && req.spec
        ? await (await import("../device/container-devices.ts")).specWithGuestDevices(req.spec, req.devices, this.opts.hotplugTimeoutMs ?? 3000)
        : req.spec;
      const prepared = spec ? await pod.prepareContainer(id, spec, req.storages ?? []) : { spec, bundlePath: undefined };
      try {
        const env = this.env(namespaces, !!req.sandboxPidns, first);
        const made = await Container.create(id, req.execId, prepared.spec, env, { bundlePath: prepared.bundlePath });
        namespaces.adopt(made.init.pid, first);
        this.containers.set(id, made);
        return made;
      } catch (e) {
        await pod.releaseContainer(id);
        throw e;
      }
    } catch (e) {
      this.containers.delete(id);
      throw e;
    }
  }

  /** Unknown container → INVALID_ARGUMENT, like Kata. */
  container(id: string | null | undefined): Container {
    const c = this.containers.get(id ?? "");
    if (!c) {
      if (this.containers.has(id ?? "")) throw precondition(`container ${id} is still being created`);
      throw invalid(`container ${id ?? ""} not found`);
    }
    return c;
  }

  async removeContainer(id: string, timeoutSec: number): Promise<void> {
    const c = this.container(id);
    await c.remove(timeoutSec);
    this.containers.delete(id);
    await this.podStorage?.releaseContainer(id);
  }

  /** CreateSandbox's storages, DNS and guest hooks; a failure leaves no sandbox behind. */
  private async setupSandboxStorage(r: SandboxStorageRequest): Promise<void> {
    if (r.storages.length === 0 && r.dns.length === 0 && !r.guestHookPath) return;
    try {
      await (await this.storage()).setupSandbox({ ...r, sandboxId: this.id, hotplugTimeoutMs: this.opts.hotplugTimeoutMs ?? 3000 });
    } catch (e) {
      this.pod?.release();
      this.id = "";
      this.hostname = "";
      throw e;
    }
  }

  private pushOom(id: string): void {
    const w = this.oomWaiters.shift();
    if (w) w(id);
    else this.oomEvents.push(id);
  }

  /** GetOOMEvent: long poll until some container hits OOM (or the call is abandoned). */
  nextOomEvent(signal: AbortSignal): Promise<string> {
    const queued = this.oomEvents.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (id: string) => {
        signal.removeEventListener("abort", onAbort);
        resolve(id);
      };
      const onAbort = () => {
        this.oomWaiters = this.oomWaiters.filter((w) => w !== waiter);
        reject(signal.reason ?? new Error("cancelled"));
      };
      this.oomWaiters.push(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
