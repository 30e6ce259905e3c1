// Request type names of grpc.AgentService (42 RPCs, Kata v4.1.0 agent.proto) and grpc.Health,
// keyed by method. The `[endpoints] allowed` list names request *types* (Kata checked the
// request's protobuf descriptor name), so methods sharing a type are allowed or blocked
// together: WriteStdin → WriteStreamRequest; ReadStdout and ReadStderr → ReadStreamRequest.
// src/gen/services.ts (generated from the protos) carries the same facts; a unit test checks
// that the two agree whenever the generated file is present.

export const AGENT_SERVICE_REQUESTS: Readonly<Record<string, string>> = {
  CreateContainer: "CreateContainerRequest",
  StartContainer: "StartContainerRequest",
  RemoveContainer: "RemoveContainerRequest",
  ExecProcess: "ExecProcessRequest",
  SignalProcess: "SignalProcessRequest",
  WaitProcess: "WaitProcessRequest",
  UpdateContainer: "UpdateContainerRequest",
  UpdateEphemeralMounts: "UpdateEphemeralMountsRequest",
  StatsContainer: "StatsContainerRequest",
  PauseContainer: "PauseContainerRequest",
  ResumeContainer: "ResumeContainerRequest",
  RemoveStaleVirtiofsShareMounts: "RemoveStaleVirtiofsShareMountsRequest",
  WriteStdin: "WriteStreamRequest",
  ReadStdout: "ReadStreamRequest",
  ReadStderr: "ReadStreamRequest",
  CloseStdin: "CloseStdinRequest",
  TtyWinResize: "TtyWinResizeRequest",
  UpdateInterface: "UpdateInterfaceRequest",
  UpdateRoutes: "UpdateRoutesRequest",
  ListInterfaces: "ListInterfacesRequest",
  ListRoutes: "ListRoutesRequest",
  AddARPNeighbors: "AddARPNeighborsRequest",
  GetIPTables: "GetIPTablesRequest",
  SetIPTables: "SetIPTablesRequest",
  GetMetrics: "GetMetricsRequest",
  CreateSandbox: "CreateSandboxRequest",
  DestroySandbox: "DestroySandboxRequest",
  OnlineCPUMem: "OnlineCPUMemRequest",
  ReseedRandomDev: "ReseedRandomDevRequest",
  GetGuestDetails: "GuestDetailsRequest",
  MemHotplugByProbe: "MemHotplugByProbeRequest",
  SetGuestDateTime: "SetGuestDateTimeRequest",
  CopyFile: "CopyFileRequest",
  GetOOMEvent: "GetOOMEventRequest",
  AddSwap: "AddSwapRequest",
  AddSwapPath: "AddSwapPathRequest",
  GetVolumeStats: "VolumeStatsRequest",
  ResizeVolume: "ResizeVolumeRequest",
  SetPolicy: "SetPolicyRequest",
  MemAgentMemcgSet: "MemAgentMemcgConfig",
  MemAgentCompactSet: "MemAgentCompactConfig",
  GetDiagnosticData: "GetDiagnosticDataRequest",
};

/** grpc.Health: Check and Version both take a CheckRequest. */
export const HEALTH_REQUESTS: Readonly<Record<string, string>> = {
  Check: "CheckRequest",
  Version: "CheckRequest",
};

/** Every request type name an allow-list may contain. */
export const KNOWN_REQUEST_NAMES: ReadonlySet<string> = new Set([
  ...Object.values(AGENT_SERVICE_REQUESTS),
  ...Object.values(HEALTH_REQUESTS),
]);

/** For "did you mean": an entry naming a method ("CreateContainer") maps to its request type. */
export function requestNameForMethod(method: string): string | undefined {
  return AGENT_SERVICE_REQUESTS[method] ?? HEALTH_REQUESTS[method];
}
