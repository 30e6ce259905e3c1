// OCI hooks (prestart, createRuntime, createContainer, startContainer, poststart, poststop).
// Each hook is a program started by the launcher in the agent's namespaces, given the OCI state
// JSON on stdin; a non-zero exit, a failed start or running past its timeout is an error naming
// the hook. Per the runtime spec, errors of poststart/poststop hooks are only logged by callers.
import { runProgram, type RunResult } from "../sys/run-program.ts";

/** How much of a failed hook's stderr goes into the error message. */
const STDERR_KEPT = 2048;

export type HookKind = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

export interface Hook {
  path: string;
  args: string[];
  env: string[];
  /** Seconds; 0 or absent = DEFAULT_HOOK_TIMEOUT_S. */
  timeout?: number;
}

/** Kata's default (kata-sys-util hooks.rs): a hook that never exits must not pin its container
 *  id forever (CreateContainer waiting, RemoveContainer saying "still being created"). */
export const DEFAULT_HOOK_TIMEOUT_S = 10;

export interface OciState {
  ociVersion: string;
  id: string;
  status: "creating" | "created" | "running" | "stopped";
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export class HookError extends Error {
  readonly kind = "internal" as const;
  constructor(kind: HookKind, index: number, hook: Hook, why: string) {
    super(`${kind} hook #${index} (${hook.path}) ${why}`);
    this.name = "HookError";
  }
}

/** Runs one hook to completion; throws HookError on any failure, with the end of its stderr. */
export async function runHook(kind: HookKind, index: number, h: Hook, state: OciState, defaultTimeoutS = DEFAULT_HOOK_TIMEOUT_S): Promise<void> {
  const timeout = h.timeout && h.timeout > 0 ? h.timeout : defaultTimeoutS;
  let r: RunResult;
  try {
    r = await runProgram(h.path, h.args.slice(1), {
      argv0: h.args[0] ?? h.path,
      env: h.env,
      stdin: JSON.stringify(state),
      timeoutMs: timeout * 1000,
      maxOutput: STDERR_KEPT,
    });
  } catch (e) {
    throw new HookError(kind, index, h, `could not start: ${(e as Error).message}`);
  }
  if (r.timedOut) throw new HookError(kind, index, h, `timed out after ${timeout} s (killed with its process group)`);
  if (r.code !== 0) {
    const err = r.stderr.trim();
    throw new HookError(kind, index, h, `failed with exit status ${r.code}${err ? `: ${err}` : ""}`);
  }
}

/** Runs the hooks of one kind in order; the first failure stops the rest. */
export async function runHooks(kind: HookKind, hooks: Hook[] | undefined, state: OciState): Promise<void> {
  for (let i = 0; i < (hooks?.length ?? 0); i++) await runHook(kind, i, hooks![i]!, state);
}
