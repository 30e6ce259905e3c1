// OCI hooks (prestart, createRuntime, createContainer, startContainer, poststart, poststop).
// Each hook is a program started by the launcher in the agent's namespaces, given the OCI state
// JSON on stdin; a non-zero exit, a failed start or running past its timeout is an error naming
// the hook. Per the runtime spec, errors of poststart/poststop hooks are only logged by callers.
import { spawn } from "../sys/launcher.ts";
import { closeFd, pipe } from "../sys/pipe.ts";
import { exitCode, onExit } from "../sys/reaper.ts";
import { C } from "../sys/libc.ts";
import { hostProcessPlan, type LaunchPlan } from "../sys/launch-plan.ts";

export type HookKind = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

export interface Hook {
  path: string;
  args: string[];
  env: string[];
  /** Seconds; 0 or absent = no timeout. */
  timeout?: number;
}

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

function hookPlan(h: Hook, stdio: [number, number, number]): LaunchPlan {
  return hostProcessPlan({ exe: h.path, args: h.args.length > 0 ? h.args : [h.path], env: h.env, stdio });
}

/**
 * Gives the hook its state on stdin. A hook need not read it: one that has already exited makes
 * the write fail with EPIPE, which is not an error of the hook (its exit status decides).
 */
async function writeState(fd: number, json: string): Promise<void> {
  try {
    const w = Bun.file(fd).writer();
    const queued = w.write(json);
    if (typeof queued !== "number") await queued;
    await w.flush();
    await w.end();
  } catch {
    // EPIPE: the hook did not read its stdin
  } finally {
    closeFd(fd);
  }
}

/** Runs one hook to completion; throws HookError on any failure. */
export async function runHook(kind: HookKind, index: number, h: Hook, state: OciState): Promise<void> {
  const [inR, inW] = pipe();
  const devnull = C.open(Buffer.from("/dev/null\0"), 0x2 | 0x80000, 0);
  let pid: number;
  try {
    pid = spawn(hookPlan(h, [inR, devnull, devnull]));
  } catch (e) {
    closeFd(inW);
    throw new HookError(kind, index, h, `could not start: ${(e as Error).message}`);
  } finally {
    closeFd(inR);
    if (devnull >= 0) closeFd(devnull);
  }
  const exit = onExit(pid);
  let timer: Timer | undefined;
  const timedOut = new Promise<"timeout">((res) => {
    if (h.timeout && h.timeout > 0) timer = setTimeout(() => res("timeout"), h.timeout * 1000);
  });
  // Not awaited: a hook that never reads a large state must still time out, and its exit (or
  // kill) ends the write with EPIPE anyway. writeState never rejects and closes the fd itself.
  void writeState(inW, JSON.stringify(state));
  const r = await Promise.race([exit, timedOut]);
  if (timer) clearTimeout(timer);
  if (r === "timeout") {
    C.kill(pid, 9);
    await exit;
    throw new HookError(kind, index, h, `timed out after ${h.timeout} s`);
  }
  const code = exitCode(r);
  if (code !== 0) throw new HookError(kind, index, h, `failed with exit status ${code}`);
}

/** Runs the hooks of one kind in order; the first failure stops the rest. */
export async function runHooks(kind: HookKind, hooks: Hook[] | undefined, state: OciState): Promise<void> {
  for (let i = 0; i < (hooks?.length ?? 0); i++) await runHook(kind, i, hooks![i]!, state);
}
