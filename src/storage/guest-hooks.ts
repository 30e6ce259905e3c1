// CreateSandbox.guest_hook_path (Kata's add_hooks/find_hooks): executable regular files in
// <path>/prestart, <path>/poststart and <path>/poststop become OCI hooks of every container,
// called with args [<file name>, <hook type>]. A missing directory means no hooks of that type.
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { invalid } from "../errors.ts";
import type { Hook } from "../container/hooks.ts";

export type GuestHooks = { prestart: Hook[]; poststart: Hook[]; poststop: Hook[] };

export function scanGuestHooks(dir: string): GuestHooks {
  if (!dir.startsWith("/")) throw invalid(`guest_hook_path ${JSON.stringify(dir)} is not an absolute path`);
  const scan = (type: keyof GuestHooks): Hook[] => {
    let names: string[];
    try {
      names = readdirSync(join(dir, type)).sort();
    } catch {
      return [];
    }
    return names.flatMap((name) => {
      const path = join(dir, type, name);
      const st = lstatSync(path);
      if (!st.isFile() || (st.mode & 0o111) === 0) return [];
      return [{ path, args: [name, type], env: [] }];
    });
  };
  return { prestart: scan("prestart"), poststart: scan("poststart"), poststop: scan("poststop") };
}

/**
 * The spec with the guest hooks appended to its own. (Kata's append_guest_hooks appends the
 * guest prestart hooks to poststart when the spec has hooks of its own; here they are prestart
 * hooks as their directory says.)
 */
export function mergeGuestHooks<S extends { Hooks?: Record<string, unknown> | null }>(spec: S, g: GuestHooks | undefined): S {
  if (!g || (g.prestart.length + g.poststart.length + g.poststop.length) === 0) return spec;
  const toProto = (h: Hook) => ({ Path: h.path, Args: h.args, Env: h.env, Timeout: 0 });
  const own = (spec.Hooks ?? {}) as Record<string, unknown[] | undefined>;
  return {
    ...spec,
    Hooks: {
      ...own,
      Prestart: [...(own.Prestart ?? []), ...g.prestart.map(toProto)],
      Poststart: [...(own.Poststart ?? []), ...g.poststart.map(toProto)],
      Poststop: [...(own.Poststop ?? []), ...g.poststop.map(toProto)],
    },
  };
}
