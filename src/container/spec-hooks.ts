// The OCI spec's Hooks message as plain Hook lists per kind.
import type { IHook, ISpec } from "./oci-types.ts";
import type { Hook } from "./hooks.ts";

function toHooks(list: IHook[] | null | undefined): Hook[] {
  return (list ?? []).map((h) => ({
    path: h.Path ?? "",
    args: h.Args ?? [],
    env: h.Env ?? [],
    timeout: h.Timeout ?? 0,
  }));
}

export function specHooks(spec: ISpec): Record<string, Hook[]> {
  const h = spec.Hooks ?? {};
  return {
    prestart: toHooks(h.Prestart),
    createRuntime: toHooks(h.CreateRuntime),
    createContainer: toHooks(h.CreateContainer),
    startContainer: toHooks(h.StartContainer),
    poststart: toHooks(h.Poststart),
    poststop: toHooks(h.Poststop),
  };
}
