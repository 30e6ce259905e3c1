// The namespaces a pod's containers share (Kata: namespace.rs setup_shared_namespaces,
// rpc.rs update_container_namespaces, sandbox.rs update_shared_pidns):
//   - IPC and UTS: made at CreateSandbox (the hostname set inside the UTS one) and joined by every
//     container whose spec lists that type. Kata bind-mounts them under /var/run/sandbox-ns from a
//     thread that unshared; the agent cannot unshare (Bun's threads), so a holder process keeps
//     them: the launcher's gate, created in them and never started, released at DestroySandbox.
//   - pid: a container created with CreateContainerRequest.sandbox_pidns joins the sandbox's pid
//     namespace, which is the first container's (normally the pause container's). A container
//     without the flag gets a pid namespace of its own. CreateSandboxRequest.sandbox_pidns (an
//     older protocol, unused by Kata's agent at HEAD) makes the holder hold a pid namespace too,
//     and then every container joins that one.
import { precondition } from "../errors.ts";
import { abortInit, createInit, type Created } from "../sys/launcher.ts";
import { hostProcessPlan, type LaunchPlan, type NamespaceKind, type NamespaceStep } from "../sys/launch-plan.ts";

export interface PodSetup {
  /** Set inside the pod's UTS namespace ("" = leave the inherited name). */
  hostname: string;
  /** CreateSandboxRequest.sandbox_pidns: one pid namespace for every container. */
  pidnsForAll: boolean;
}

export class PodNamespaces {
  private holder: Created | undefined;
  private pidnsForAll = false;
  /** /proc/<pid>/ns/pid of the pid namespace flagged containers join. */
  private sandboxPidns: string | undefined;

  /** CreateSandbox: the IPC and UTS namespaces (and the legacy pid namespace) come to exist. */
  setUp(s: PodSetup): void {
    if (this.holder) throw precondition("the pod's namespaces already exist");
    this.holder = createInit(holderPlan(s));
    this.pidnsForAll = s.pidnsForAll;
    if (s.pidnsForAll) this.sandboxPidns = `/proc/${this.holder.pid}/ns/pid`;
  }

  /** Namespaces a container joins instead of making new ones (for the types its spec lists). */
  shared(): Partial<Record<NamespaceKind, string>> {
    if (!this.holder) return {};
    return { ipc: `/proc/${this.holder.pid}/ns/ipc`, uts: `/proc/${this.holder.pid}/ns/uts` };
  }

  /** The pid namespace a new container joins (undefined = a new one). `first`: no other
   *  container exists. */
  pidnsFor(flagged: boolean, first: boolean): string | undefined {
    if (this.pidnsForAll) return this.sandboxPidns;
    if (!flagged) return undefined;
    if (this.sandboxPidns) return this.sandboxPidns;
    if (first) return undefined;
    throw precondition("CreateContainer: sandbox_pidns is set but the sandbox has no shared pid namespace");
  }

  /** After a container was created: the first one's pid namespace becomes the sandbox's. */
  adopt(initPid: number, first: boolean): void {
    if (!this.sandboxPidns && first) this.sandboxPidns = `/proc/${initPid}/ns/pid`;
  }

  /** DestroySandbox. */
  release(): void {
    if (this.holder) abortInit(this.holder);
    this.holder = undefined;
    this.sandboxPidns = undefined;
    this.pidnsForAll = false;
  }

  get holderPid(): number | undefined {
    return this.holder?.pid;
  }
}

/**
 * The holder: the launcher's gate, never started. The launcher checks at create time that the
 * executable exists, so name one that always does: the agent's own binary (never exec'd here).
 */
export function holderPlan(s: PodSetup): LaunchPlan {
  const namespaces: NamespaceStep[] = [{ kind: "ipc" }, { kind: "uts" }];
  if (s.pidnsForAll) namespaces.push({ kind: "pid" });
  return hostProcessPlan({
    namespaces, hostname: s.hostname || undefined, noNewPrivileges: true,
    exe: "/proc/self/exe", args: ["sandbox-namespaces-holder"], env: [], stdio: [-1, -1, -1],
  });
}
