// One container: its init process (blocked in the launcher's gate until StartContainer), the
// processes exec'd into it, its cgroup, and its OCI hooks. This is what Kata's rustjail
// LinuxContainer does; the RPC layer calls these methods and maps their errors to statuses.
import type { IProcess, ISpec } from "./oci-types.ts";
import type { Logger } from "../log/logger.ts";
import type { CgroupManager } from "../cgroups/manager.ts";
import { newManager } from "../cgroups/manager.ts";
import { abortInit, createInit, spawn, startInit, type Created } from "../sys/launcher.ts";
import { planSeccomp, type SeccompFilter } from "./seccomp-plan.ts";
import { isLiveProcess, killQuietly, mayKillForContainer, sendSignal } from "../sys/proc.ts";
import { SIGKILL, SIGTERM } from "../sys/consts.ts";
import type { NamespaceKind } from "../sys/launch-plan.ts";
import { lacksHandler } from "../process/signal-mask.ts";
import { closeFd } from "../sys/pipe.ts";
import { ContainerProcess } from "../process/process.ts";
import { stdioFor } from "../process/stdio.ts";
import { exists, invalid, kindOf, notFound, precondition, AgentError } from "../errors.ts";
import { validateId } from "./id.ts";
import { validateSpec } from "./spec-validate.ts";
import { planContainer, planExec } from "./plan.ts";
import { dirname } from "node:path";
import { runHooks, type Hook, type OciState } from "./hooks.ts";
import { specHooks } from "./spec-hooks.ts";

export type ContainerStatus = "created" | "running" | "paused" | "stopped";

export interface ContainerEnv {
  log: Logger;
  cgroupVersion: 1 | 2;
  /** agent.container_pipe_size */
  pipeSize: number;
  /** /proc/PID/ns/pid of the sandbox's shared pid namespace, when sandbox_pidns is on. */
  sandboxPidns?: string;
  /** The pod's IPC and UTS namespaces (joined for the types the spec lists), when CreateSandbox made them. */
  sharedNamespaces?: Partial<Record<NamespaceKind, string>>;
  /** Called when a process of this container was killed by the OOM killer. */
  onOom?: (containerId: string) => void;
}

/** How often a running container's OOM-kill counter is read (see startOomPolling). */
const OOM_POLL_MS = 500;

export class Container {
  status: ContainerStatus = "created";
  readonly processes = new Map<string, ContainerProcess>();
  private created: Created | undefined;
  /** Freezes in progress (PauseContainer, kill-all): ExecProcess is refused meanwhile. */
  private freezing = 0;
  /** Every process was sent SIGKILL: the container is going away, ExecProcess is refused. */
  private killedAll = false;
  /** The compiled Linux.Seccomp, for exec'd processes too. */
  private seccomp: SeccompFilter | undefined;
  /** True until the create-time hooks ran: they see the OCI status "creating". */
  private creating = true;
  private removing: Promise<void> | undefined;
  private oomTimer: Timer | undefined;
  private oomSeen = 0;
  private readonly hooks: Record<string, Hook[]>;

  private constructor(
    readonly id: string,
    readonly spec: ISpec,
    readonly init: ContainerProcess,
    readonly cgroup: CgroupManager,
    private readonly env: ContainerEnv,
    created: Created,
    /** The OCI bundle directory hooks get in the state (Kata: /run/kata-containers/<cid>). */
    private readonly bundlePath: string,
  ) {
    this.created = created;
    this.hooks = specHooks(spec);
    this.watch(init);
  }

  get log(): Logger {
    return this.env.log;
  }

  /** CreateContainer: everything set up, the init blocked before its execve. */
  static async create(
    id: string, execId: string, spec: ISpec | null | undefined, env: ContainerEnv, opts: { bundlePath?: string } = {},
  ): Promise<Container> {
    validateId("container", id);
    if (execId !== "" && execId !== id) validateId("exec", execId);
    if (!spec) throw invalid("CreateContainer: OCI spec is missing");
    const valid = validateSpec(spec);
    const rootfs = spec.Root!.Path!;
    const cgroup = newManager({ version: env.cgroupVersion, cgroupsPath: spec.Linux?.CgroupsPath ?? "", containerId: id });
    const cleanups: (() => void | Promise<void>)[] = [];
    try {
      cgroup.create();
      cleanups.push(() => cgroup.destroy());
      if (spec.Linux?.Resources) cgroup.apply(spec.Linux.Resources);
      const p = spec.Process!;
      const stdio = stdioFor(p, env.pipeSize);
      cleanups.push(() => stdio.discard());
      const seccomp = await planSeccomp(spec.Linux?.Seccomp, env.log);
      const cgFds = cgroup.procsFds();
      let created: Created;
      try {
        const plan = planContainer(valid, {
          seccomp,
          rootfsHostPath: rootfs,
          stdio: stdio.childFds,
          cgroupProcsFds: cgFds,
          sandboxPidnsPath: env.sandboxPidns,
          sharedNamespacePaths: env.sharedNamespaces,
          cgroups: cgroup.mountView(),
          bundlePath: opts.bundlePath,
        });
        created = createInit(plan);
      } finally {
        cgFds.forEach(closeFd);
      }
      cleanups.push(() => abortInit(created));
      stdio.closeChildEnds();
      const init = new ContainerProcess(id, created.pid, stdio);
      // Without a bundle made by the storage layer, the rootfs's parent is the bundle (runc's layout).
      const c = new Container(id, spec, init, cgroup, env, created, opts.bundlePath ?? dirname(rootfs));
      c.seccomp = seccomp;
      const state = c.state();
      await runHooks("prestart", c.hooks.prestart, state);
      await runHooks("createRuntime", c.hooks.createRuntime, state);
      await runHooks("createContainer", c.hooks.createContainer, state);
      c.creating = false;
      env.log.info("container created", { container: id, init_pid: created.pid });
      return c;
    } catch (e) {
      for (const f of cleanups.reverse()) {
        try {
          await f();
        } catch (ce) {
          env.log.warn("cleanup after failed create", { container: id, error: (ce as Error).message });
        }
      }
      throw e;
    }
  }

  state(): OciState {
    return {
      ociVersion: this.spec.Version || "1.0.2",
      id: this.id,
      status: this.creating ? "creating" : this.status === "paused" ? "running" : this.status,
      pid: this.init.pid,
      bundle: this.bundlePath,
      annotations: (this.spec.Annotations ?? {}) as Record<string, string>,
    };
  }

  /** StartContainer: release the init from the gate. */
  async start(): Promise<void> {
    if (this.status !== "created" || !this.created) throw precondition(`container ${this.id} is ${this.status}, not created`);
    const created = this.created;
    this.created = undefined;
    try {
      await runHooks("startContainer", this.hooks.startContainer, this.state());
    } catch (e) {
      // The init will never start: kill it and close the gate's start and status pipes, which
      // nothing else would close (they leaked, one pair per failed start, before).
      abortInit(created);
      throw e;
    }
    await startInit(created);
    // The workload may already have exited (and been reaped) by now.
    this.status = this.init.running ? "running" : "stopped";
    if (this.status === "running") this.startOomPolling();
    try {
      await runHooks("poststart", this.hooks.poststart, this.state());
    } catch (e) {
      this.log.warn("poststart hook failed", { container: this.id, error: (e as Error).message });
    }
  }

  /** ExecProcess: a new process in the container's namespaces and cgroup. */
  exec(execId: string, process: IProcess | null | undefined): ContainerProcess {
    validateId("exec", execId);
    if (!process) throw invalid("ExecProcess: process is missing");
    if (this.status !== "running") throw precondition(`container ${this.id} is ${this.status}, not running`);
    // A process joining a frozen cgroup stops in the kernel before its exec, and the launcher's
    // vfork would hold the agent's only thread with it (issue 14 #1).
    if (this.killedAll) throw precondition(`container ${this.id} is being killed: no new process can start in it`);
    if (this.freezing > 0 || this.cgroup.isFrozen()) {
      throw precondition(`container ${this.id} is being paused or killed (its cgroup is frozen): no new process can join it`);
    }
    if (execId === this.id || this.processes.has(execId)) throw exists(`exec id ${execId} already exists in container ${this.id}`);
    const stdio = stdioFor(process, this.env.pipeSize);
    const cgFds = this.cgroup.procsFds();
    let pid: number;
    try {
      const plan = planExec(process, {
        initPid: this.init.pid,
        // The container's root as its init sees it (with its volumes mounted), for user and
        // executable lookups.
        rootfsHostPath: `/proc/${this.init.pid}/root`,
        // The init always got a pid namespace (its own or the sandbox's) even when the spec
        // lists none (the Go runtime removes it), so an exec joins it too.
        namespaces: [...new Set([...(this.spec.Linux?.Namespaces ?? []).map((n) => n.Type as string), "pid"])] as never,
        containerCapabilities: this.spec.Process?.Capabilities ?? undefined,
        stdio: stdio.childFds,
        cgroupProcsFds: cgFds,
        seccomp: this.seccomp,
      });
      pid = spawn(plan);
    } catch (e) {
      stdio.discard();
      // The init died meanwhile (a kill racing this exec): its root and namespaces are gone, which
      // is the container's state, not a fault of the request.
      if (!isLiveProcess(this.init.pid)) throw precondition(`container ${this.id} has stopped (its init exited): ${(e as Error).message}`);
      throw e;
    } finally {
      cgFds.forEach(closeFd);
      stdio.closeChildEnds();
    }
    const p = new ContainerProcess(execId, pid, stdio, (gone) => {
      if (this.processes.get(execId) === gone) this.processes.delete(execId);
    });
    this.processes.set(execId, p);
    this.watch(p);
    return p;
  }

  /** The init for "" or the container id, else an exec'd process. */
  process(execId: string): ContainerProcess {
    if (execId === "" || execId === this.id) return this.init;
    const p = this.processes.get(execId);
    if (!p) throw notFound(`process ${execId} not found in container ${this.id}`);
    return p;
  }

  /** SignalProcess. Empty exec id + SIGKILL = every process of the container. ESRCH is fine. */
  async signal(execId: string, sig: number): Promise<void> {
    if (execId === "" && sig === SIGKILL) return this.killAll();
    const p = this.process(execId);
    if (!p.running) return;
    // Kata: a container init that neither handles nor blocks nor ignores SIGTERM would never see
    // it (pid 1 of its namespace), so SIGTERM becomes SIGKILL and deletion does not wait out the
    // grace period.
    if (p === this.init && sig === SIGTERM && lacksHandler(p.pid, SIGTERM)) sig = SIGKILL;
    try {
      sendSignal(p.pid, sig);
    } catch (e) {
      if (kindOf(e) === "invalid") throw invalid(`signal ${sig} is not a valid signal`);
      throw e;
    }
  }

  /** Freeze, SIGKILL every process in the cgroup, thaw (so nothing forks away meanwhile). */
  async killAll(): Promise<void> {
    if (this.created) {
      abortInit(this.created);
      this.created = undefined;
      return;
    }
    this.freezing++;
    this.killedAll = true;
    try {
      await this.cgroup.freeze().catch(() => {});
      for (const pid of this.cgroup.pids()) if (mayKillForContainer(pid)) killQuietly(pid, SIGKILL);
      killQuietly(this.init.pid, SIGKILL);
      await this.cgroup.thaw().catch(() => {});
    } finally {
      this.freezing--;
    }
  }

  async pause(): Promise<void> {
    if (this.status !== "running") throw precondition(`container ${this.id} is ${this.status}, not running`);
    this.freezing++;
    try {
      await this.cgroup.freeze();
      this.status = "paused";
    } finally {
      this.freezing--;
    }
  }

  async resume(): Promise<void> {
    if (this.status !== "paused") throw precondition(`container ${this.id} is ${this.status}, not paused`);
    await this.cgroup.thaw();
    this.status = "running";
  }

  /**
   * RemoveContainer: kill, wait (timeout seconds; 0 = forever), poststop hooks, cgroup, stdio.
   * Concurrent calls share one removal (poststop hooks run once); a failed one may be retried.
   */
  remove(timeoutSec: number): Promise<void> {
    this.removing ??= this.doRemove(timeoutSec).catch((e) => {
      this.removing = undefined;
      throw e;
    });
    return this.removing;
  }

  private async doRemove(timeoutSec: number): Promise<void> {
    this.stopOomPolling();
    if (this.status !== "stopped") {
      await this.killAll();
      const exited = this.init.exited;
      if (timeoutSec > 0) {
        let timer: Timer | undefined;
        const t = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutSec * 1000)));
        const r = await Promise.race([exited, t]);
        clearTimeout(timer);
        if (r === "timeout") throw new AgentError("deadline", `container ${this.id} did not stop within ${timeoutSec} s`);
      } else {
        await exited;
      }
      await Promise.all([...this.processes.values()].map((p) => p.exited));
      this.status = "stopped";
    }
    try {
      await runHooks("poststop", this.hooks.poststop, this.state());
    } catch (e) {
      this.log.warn("poststop hook failed", { container: this.id, error: (e as Error).message });
    }
    for (const p of [...this.processes.values(), this.init]) p.release();
    this.processes.clear();
    await this.cgroup.destroy();
    this.log.info("container removed", { container: this.id });
  }

  /** Marks the container stopped when its init exits; reports OOM kills of our processes at once. */
  private watch(p: ContainerProcess): void {
    void p.exited.then((code) => {
      if (p === this.init && this.status !== "created") this.status = "stopped";
      if (code === 128 + SIGKILL) this.checkOom();
      if (p === this.init) this.stopOomPolling();
    });
  }

  /**
   * The OOM killer may pick a process the agent did not start (a child of the init), which no
   * exit of ours would reveal; Kata gets a memory.oom_control/memory.events notification for it.
   * Bun's event loop cannot watch such an eventfd, so the counter is polled while the container runs.
   */
  private startOomPolling(): void {
    this.oomTimer = setInterval(() => this.checkOom(), OOM_POLL_MS);
    this.oomTimer.unref();
  }

  private stopOomPolling(): void {
    if (this.oomTimer) clearInterval(this.oomTimer);
    this.oomTimer = undefined;
  }

  private checkOom(): void {
    let n = 0;
    try {
      n = this.cgroup.oomKilled();
    } catch {
      return; // the cgroup is gone
    }
    if (n > this.oomSeen) {
      this.oomSeen = n;
      this.env.onOom?.(this.id);
    }
  }
}
