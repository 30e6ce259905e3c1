// Registers grpc.Health and grpc.AgentService on the ttRPC server. This file only maps requests
// to domain calls; validation and behaviour live in the domain modules (sandbox, container,
// process), and error → status mapping in errors.ts.
import { AgentService, HealthService, grpc } from "../gen/index.ts";
import type { Logger } from "../log/logger.ts";
import type { Sandbox } from "../sandbox/sandbox.ts";
import type { TtrpcServer } from "../ttrpc/server.ts";
import { AGENT_VERSION, API_VERSION } from "../version.ts";
import { invalid } from "../errors.ts";
import { copyFile } from "../guest/copy-file.ts";
import { guestDetails } from "../guest/details.ts";
import { reseedRandom, setGuestDateTime } from "../guest/clock-random.ts";
import { encodeBytesField1, typedHandlers, type TypedHandler } from "./typed.ts";

export interface ServiceDeps {
  sandbox: Sandbox;
  log: Logger;
  /** True when the agent is the guest's init (PID 1): it may set the clock. */
  ownsMachine: boolean;
  /** Called after DestroySandbox answered: stop the server (and power off as PID 1). */
  onDestroySandbox: () => void;
}

/** The largest read that still fits one ttRPC message (4 MiB) with its envelopes: a larger
 *  `len` would make the answer RESOURCE_EXHAUSTED after the bytes were taken from the pipe. */
const MAX_READ = (4 << 20) - 1024;

/** The RPCs that work today; the README's feature table mirrors this list. */
export function agentHandlers(d: ServiceDeps): Record<string, TypedHandler> {
  const sb = d.sandbox;
  const empty = {};
  return {
    CreateSandbox: async (r: grpc.CreateSandboxRequest) => (await sb.create(r), empty),
    DestroySandbox: async () => {
      await sb.destroy();
      setTimeout(d.onDestroySandbox, 20);
      return empty;
    },
    CreateContainer: async (r: grpc.CreateContainerRequest) => (await sb.createContainer(r), empty),
    StartContainer: async (r: grpc.StartContainerRequest) => (await sb.container(r.container_id).start(), empty),
    RemoveContainer: async (r: grpc.RemoveContainerRequest) => (await sb.removeContainer(r.container_id, r.timeout), empty),
    ExecProcess: (r: grpc.ExecProcessRequest) => (sb.container(r.container_id).exec(r.exec_id, r.process), empty),
    SignalProcess: async (r: grpc.SignalProcessRequest) => (await sb.container(r.container_id).signal(r.exec_id, r.signal), empty),
    WaitProcess: async (r: grpc.WaitProcessRequest) => ({ status: await sb.container(r.container_id).process(r.exec_id).wait() }),
    PauseContainer: async (r: grpc.PauseContainerRequest) => (await sb.container(r.container_id).pause(), empty),
    ResumeContainer: async (r: grpc.ResumeContainerRequest) => (await sb.container(r.container_id).resume(), empty),
    UpdateContainer: (r: grpc.UpdateContainerRequest) => {
      if (!r.resources) throw invalid("resources are missing");
      sb.container(r.container_id).cgroup.update(r.resources);
      return empty;
    },
    StatsContainer: (r: grpc.StatsContainerRequest) => ({ cgroup_stats: sb.container(r.container_id).cgroup.stats(), network_stats: [] }),
    WriteStdin: async (r: grpc.WriteStreamRequest) => {
      const p = sb.container(r.container_id).process(r.exec_id);
      if (r.data.length === 0) {
        await p.closeStdin();
        return { len: 0 };
      }
      return { len: await p.writeStdin(r.data) };
    },
    // ReadStreamResponse{data} is encoded from the chunks as they came from the pipe: the
    // output is never copied in JavaScript on its way to the socket.
    ReadStdout: async (r: grpc.ReadStreamRequest, ctx) =>
      encodeBytesField1(await sb.container(r.container_id).process(r.exec_id).read("stdout", Math.min(r.len, MAX_READ), ctx.signal)),
    ReadStderr: async (r: grpc.ReadStreamRequest, ctx) =>
      encodeBytesField1(await sb.container(r.container_id).process(r.exec_id).read("stderr", Math.min(r.len, MAX_READ), ctx.signal)),
    CloseStdin: async (r: grpc.CloseStdinRequest) => (await sb.container(r.container_id).process(r.exec_id).closeStdin(), empty),
    TtyWinResize: (r: grpc.TtyWinResizeRequest) => (sb.container(r.container_id).process(r.exec_id).resizeTty(r.row, r.column), empty),
    GetOOMEvent: async (_r: grpc.GetOOMEventRequest, ctx) => ({ container_id: await sb.nextOomEvent(ctx.signal) }),
    GetGuestDetails: (r: grpc.GuestDetailsRequest) =>
      guestDetails({ memBlockSize: r.mem_block_size, memHotplugProbe: r.mem_hotplug_probe, initDaemon: d.ownsMachine }),
    CopyFile: (r: grpc.CopyFileRequest) => (copyFile(r), empty),
    SetGuestDateTime: (r: grpc.SetGuestDateTimeRequest) => (setGuestDateTime(r.Sec, r.Usec, d.ownsMachine), empty),
    ReseedRandomDev: (r: grpc.ReseedRandomDevRequest) => (reseedRandom(r.data), empty),
  };
}

export function registerServices(server: TtrpcServer, d: ServiceDeps): void {
  server.register(
    HealthService.name,
    typedHandlers(HealthService, {
      Check: () => ({ status: grpc.HealthCheckResponse.ServingStatus.SERVING }),
      Version: () => ({ grpc_version: API_VERSION, agent_version: AGENT_VERSION }),
    }),
  );
  server.register(AgentService.name, typedHandlers(AgentService, agentHandlers(d)));
}
