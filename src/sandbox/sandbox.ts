// The sandbox: the pod the agent serves. It owns the containers, the optional shared pid
// namespace (sandbox_pidns), and the queue of OOM events that GetOOMEvent long-polls.
import type { ISpec } from "../container/oci-types.ts";
import type { Logger } from "../log/logger.ts";
import type { Container, ContainerEnv } from "../container/container.ts";
import { validateId } from "../container/id.ts";
import { exists, invalid, precondition } from "../errors.ts";
import type { Created } from "../sys/launcher.ts";
import { hostProcessPlan, type LaunchPlan } from "../sys/launch-plan.ts";
import { setHostname } from "../sys/host.ts";
import type { StorageSpec } from "../storage/driver.ts";
import type { PodStorage, SandboxStorageInput } from "../storage/pod.ts";

/** CreateSandbox's storage half (storages, dns, guest hooks), as plain data. */
export type SandboxStorageRequest = Omit<SandboxStorageInput, "sandboxId" | "hotplugTimeoutMs">;

export interface SandboxOptions {
  log: Logger;
  cgroupVersion: 1 | 2;
  pipeSize: number;
  /** Only an agent that owns the VM (PID 1) changes the machine's hostname. */
  ownsMachine: boolean;
  /** agent.hotplug_timeout, for storages that wait for a device. */
  hotplugTimeoutMs?: number;
}

/** What CreateSandbox asks for, as plain data (services/sandbox.ts converts the request). */
export interface SandboxRequest {
  id: string;
  hostname: string;
  /** One pid namespace for every container (the Kata 1.x/2.x CreateSandbox flag). */
  sandboxPidns: boolean;
  /** storages, dns, guest_hook_path (src/storage/pod.ts). */
  storage?: SandboxStorageRequest;
}

/** What CreateContainer asks for, as plain data (services/containers.ts converts the request). */
export interface ContainerRequest {
  id: string;
  execId: string;
  spec: ISpec | undefined;
  /** The container's storages (mounted before it is created, released when it is removed). */
  storages?: StorageSpec[];
}

export class Sandbox {
  id = "";
  hostname = "";
  readonly containers = new Map<string, Container>();
  private pidnsHolder: Created | undefined;
  private oomEvents: string[] = [];
  private oomWaiters: ((id: string) => void)[] = [];
  private podStorage: PodStorage | undefined;

  constructor(private readonly opts: SandboxOptions) {}

  // The container machinery (spec planning, the launcher and its embedded programs, cgroups)
  // loads on first use: the agent answers Check sooner and an agent without containers does not
  // carry it (bench/: start-to-ready).
  private static readonly containerModule = () => import("../container/container.ts");
  private static readonly launcherModule = () => import("../sys/launcher.ts");
  private static readonly storageModule = () => import("../storage/pod.ts");

  /** The storage table, bind watcher, bundles, DNS and guest hooks (loaded on first use). */
  async storage(): Promise<PodStorage> {
    this.podStorage ??= new (await Sandbox.storageModule()).PodStorage();
    return this.podStorage;
  }

  /** CreateSandbox: the sandbox id, hostname and (optionally) a pid namespace for all containers. */
  async create(req: SandboxRequest): Promise<void> {
    // Loaded before the checks, so that nothing awaits between checking and taking the sandbox.
    const launcher = req.sandboxPidns ? await Sandbox.launcherModule() : undefined;
    if (this.id) throw exists(`sandbox ${this.id} already exists`);
    if (req.id) validateId("sandbox", req.id);
    if (req.hostname && this.opts.ownsMachine) setHostname(req.hostname);
    if (launcher) this.pidnsHolder = launcher.createInit(pidnsHolderPlan());
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
    if (this.pidnsHolder) (await Sandbox.launcherModule()).abortInit(this.pidnsHolder);
    this.pidnsHolder = undefined;
    await this.podStorage?.destroy();
    this.opts.log.info("sandbox destroyed", { sandbox: this.id });
    this.id = "";
  }

  private env(): ContainerEnv {
    return {
      log: this.opts.log.child({ subsystem: "container" }),
      cgroupVersion: this.opts.cgroupVersion,
      pipeSize: this.opts.pipeSize,
      sandboxPidns: this.pidnsHolder ? `/proc/${this.pidnsHolder.pid}/ns/pid` : undefined,
      onOom: (id) => this.pushOom(id),
    };
  }

  async createContainer(req: ContainerRequest): Promise<Container> {
    const id = req.id;
    if (this.containers.has(id)) throw exists(`container ${id} already exists`);
    // Reserve the id while the (asynchronous) create runs, so a concurrent duplicate fails.
    this.containers.set(id, undefined as never);
    try {
      const { Container } = await Sandbox.containerModule();
      const pod = await this.storage();
      const prepared = req.spec ? await pod.prepareContainer(id, req.spec, req.storages ?? []) : { spec: req.spec, bundlePath: undefined };
      try {
        const made = await Container.create(id, req.execId, prepared.spec, this.env(), { bundlePath: prepared.bundlePath });
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
      if (this.pidnsHolder) (await Sandbox.launcherModule()).abortInit(this.pidnsHolder);
      this.pidnsHolder = undefined;
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

/**
 * A process that only holds a new pid namespace: the launcher's gate, never started. The launcher
 * checks at create time that the executable exists (so a bad args[0] fails CreateContainer), so
 * name one that always does: the agent's own binary, which is never exec'd here.
 */
function pidnsHolderPlan(): LaunchPlan {
  return hostProcessPlan({
    namespaces: [{ kind: "pid" }], noNewPrivileges: true, exe: "/proc/self/exe", args: ["sandbox-pidns-holder"],
    env: [], stdio: [-1, -1, -1],
  });
}
