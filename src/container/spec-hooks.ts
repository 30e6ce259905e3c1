// The OCI spec's Hooks message as plain Hook lists per kind.
import type { grpc } from "../gen/index.ts";
import type { Hook } from "./hooks.ts";

function toHooks(list: grpc.IHook[] | null | undefined): Hook[] {
  return (list ?? []).map((h) => ({
    path: h.Path ?? "",
    args: h.Args ?? [],
    env: h.Env ?? [],
    timeout: h.Timeout ?? 0,
  }));
}

export function specHooks(spec: grpc.ISpec): Record<string, Hook[]> {
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
