// Container and process RPCs: lifecycle, exec, signals, stdio, resources, stats, OOM events.
// Requests become domain calls here; the domain never sees a wire request.
import { invalid } from "../errors.ts";
import { EMPTY, type AgentHandlers, type ServiceDeps } from "./deps.ts";
import { encodeBytesField1 } from "./typed.ts";
import { toStorageSpecs } from "./storage.ts";

/** The largest read that still fits one ttRPC message (4 MiB) with its envelopes: a larger
 *  `len` would make the answer RESOURCE_EXHAUSTED after the bytes were taken from the pipe. */
const MAX_READ = (4 << 20) - 1024;

export function containerHandlers(d: ServiceDeps): AgentHandlers {
  const sb = d.sandbox;
  return {
    CreateContainer: async (r) => (
      refuseSharedMounts(r.shared_mounts?.length ?? 0),
      refuseUnsupported("CreateContainer", r),
      await sb.createContainer({
        id: r.container_id ?? "", execId: r.exec_id ?? "", spec: r.OCI ?? undefined, storages: toStorageSpecs(r.storages),
        sandboxPidns: !!r.sandbox_pidns,
        devices: (r.devices ?? []).map((x) => ({
          id: x.id ?? "", type: x.type ?? "", vmPath: x.vm_path ?? "", containerPath: x.container_path ?? "", options: x.options ?? [],
        })),
      }), EMPTY),
    StartContainer: async (r) => (await sb.container(r.container_id).start(), EMPTY),
    RemoveContainer: async (r) => (await sb.removeContainer(r.container_id ?? "", r.timeout ?? 0), EMPTY),
    ExecProcess: (r) => (refuseUnsupported("ExecProcess", r), sb.container(r.container_id).exec(r.exec_id ?? "", r.process), EMPTY),
    SignalProcess: async (r) => (await sb.container(r.container_id).signal(r.exec_id ?? "", r.signal ?? 0), EMPTY),
    WaitProcess: async (r) => ({ status: await sb.container(r.container_id).process(r.exec_id ?? "").wait() }),
    PauseContainer: async (r) => (await sb.container(r.container_id).pause(), EMPTY),
    ResumeContainer: async (r) => (await sb.container(r.container_id).resume(), EMPTY),
    UpdateContainer: (r) => {
      if (!r.resources) throw invalid("resources are missing");
      sb.container(r.container_id).cgroup.update(r.resources);
      return EMPTY;
    },
    StatsContainer: (r) => ({ cgroup_stats: sb.container(r.container_id).cgroup.stats(), network_stats: [] }),
    WriteStdin: async (r) => {
      const p = sb.container(r.container_id).process(r.exec_id ?? "");
      const data = r.data ?? new Uint8Array(0);
      if (data.length === 0) {
        await p.closeStdin();
        return { len: 0 };
      }
      return { len: await p.writeStdin(data) };
    },
    ReadStdout: async (r, ctx) =>
      encodeBytesField1(await sb.container(r.container_id).process(r.exec_id ?? "").read("stdout", Math.min(r.len ?? 0, MAX_READ), ctx.signal)),
    ReadStderr: async (r, ctx) =>
      encodeBytesField1(await sb.container(r.container_id).process(r.exec_id ?? "").read("stderr", Math.min(r.len ?? 0, MAX_READ), ctx.signal)),
    CloseStdin: async (r) => (await sb.container(r.container_id).process(r.exec_id ?? "").closeStdin(), EMPTY),
    TtyWinResize: (r) => (sb.container(r.container_id).process(r.exec_id ?? "").resizeTty(r.row ?? 0, r.column ?? 0), EMPTY),
    GetOOMEvent: async (_r, ctx) => ({ container_id: await sb.nextOomEvent(ctx.signal) }),
  };
}

/**
 * CreateContainerRequest.shared_mounts (Kata's setup_shared_mounts: a path of one container's
 * mount namespace cloned into another's with open_tree/move_mount) is not implemented: refused,
 * not ignored. Neither runtime sends it for an ordinary pod.
 */
function refuseSharedMounts(n: number): void {
  if (n > 0) throw invalid(`CreateContainer: shared_mounts (${n}) are not supported by this agent`);
}

/** The request fields both CreateContainer and ExecProcess carry that this agent does not serve. */
interface PortsAndStringUser {
  string_user?: { uid?: string | null; gid?: string | null; additionalGids?: string[] | null } | null;
  stdin_port?: number | null;
  stdout_port?: number | null;
  stderr_port?: number | null;
}

/**
 * `string_user` (a user by name for guest-pulled images, resolved by Kata's CoCo image service)
 * and the vsock stdio ports (`std*_port`) are features neither runtime uses for an ordinary pod,
 * and Kata's default agent does not act on them either. They are refused by name when set, so a
 * caller never believes they took effect.
 */
function refuseUnsupported(rpc: string, r: PortsAndStringUser): void {
  const u = r.string_user;
  if (u && (u.uid || u.gid || (u.additionalGids?.length ?? 0) > 0)) {
    throw invalid(`${rpc}: string_user is not supported by this agent (use the OCI Process.User)`);
  }
  for (const f of ["stdin_port", "stdout_port", "stderr_port"] as const) {
    if (r[f]) throw invalid(`${rpc}: ${f} ${r[f]} is not supported by this agent (stdio goes through ReadStdout/WriteStdin)`);
  }
}
