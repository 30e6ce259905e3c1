// Sandbox RPCs: CreateSandbox, DestroySandbox.
import { EMPTY, type AgentHandlers, type ServiceDeps } from "./deps.ts";
import { toStorageSpecs } from "./storage.ts";

export function sandboxHandlers(d: ServiceDeps): AgentHandlers {
  const sb = d.sandbox;
  return {
    CreateSandbox: async (r) => (
      await sb.create({
        id: r.sandbox_id ?? "", hostname: r.hostname ?? "", sandboxPidns: !!r.sandbox_pidns,
        storage: { storages: toStorageSpecs(r.storages), dns: r.dns ?? [], guestHookPath: r.guest_hook_path ?? "" },
        kernelModules: (r.kernel_modules ?? []).map((m) => ({ name: m.name ?? "", parameters: m.parameters ?? [] })),
      }), EMPTY),
    DestroySandbox: async () => {
      await sb.destroy();
      setTimeout(d.onDestroySandbox, 20);
      return EMPTY;
    },
  };
}
