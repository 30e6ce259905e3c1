// Storage RPCs: UpdateEphemeralMounts, RemoveStaleVirtiofsShareMounts, GetVolumeStats,
// GetDiagnosticData; and the wire Storage -> StorageSpec conversion CreateSandbox and
// CreateContainer use. The storage machinery loads with the first call that needs it.
import { grpc, types } from "../gen/index.ts";
import { invalid } from "../errors.ts";
import type { StorageSpec } from "../storage/driver.ts";
import { EMPTY, type AgentHandlers, type ServiceDeps } from "./deps.ts";

const rpcs = () => import("../storage/rpcs.ts");
const ephemeral = () => import("../storage/ephemeral.ts");

export function toStorageSpecs(list: grpc.IStorage[] | null | undefined): StorageSpec[] {
  return (list ?? []).map((s) => ({
    driver: s.driver ?? "",
    driverOptions: s.driver_options ?? [],
    source: s.source ?? "",
    fstype: s.fstype ?? "",
    options: s.options ?? [],
    mountPoint: s.mount_point ?? "",
    fsGroup: s.fs_group
      ? {
          groupId: s.fs_group.group_id ?? 0,
          changePolicy: s.fs_group.group_change_policy === types.FSGroupChangePolicy.OnRootMismatch ? "on-root-mismatch" : "always",
        }
      : undefined,
    shared: !!s.shared,
  }));
}

export function storageHandlers(d: ServiceDeps): AgentHandlers {
  const sb = d.sandbox;
  return {
    UpdateEphemeralMounts: async (r) => {
      const { updateEphemeralMount } = await ephemeral();
      for (const s of toStorageSpecs(r.storages)) updateEphemeralMount(s);
      return EMPTY;
    },
    RemoveStaleVirtiofsShareMounts: async () => {
      await (await rpcs()).touchShareMounts();
      return EMPTY;
    },
    GetVolumeStats: async (r) => {
      const st = (await rpcs()).volumeStats(r.volume_guest_path ?? "");
      const unit = { bytes: grpc.VolumeUsage.Unit.BYTES, inodes: grpc.VolumeUsage.Unit.INODES };
      return { usage: st.usage.map((u) => ({ ...u, unit: unit[u.unit] })), volume_condition: st.condition };
    },
    GetDiagnosticData: async (r) => {
      if (r.log_type !== "termination_log") throw invalid(`log_type ${JSON.stringify(r.log_type ?? "")} is not supported (only "termination_log")`);
      const c = sb.container(r.container_id);
      return { data: (await rpcs()).readTerminationLog(c.id, c.spec as never) };
    },
  };
}
