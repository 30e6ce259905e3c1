// The OCI runtimes we compare with, run as whole commands by bench-client's `command` mode.
// crun 1.8 refuses this host's hybrid cgroups, so crun runs inside a private mount namespace with
// the cgroup2 mount hidden; the namespace is prepared once for a whole batch, so the
// per-command cost we time is crun's own (the wrapper is not counted).
export interface Runtime {
  name: string;
  /** argv prefix that runs `cmd...` with this runtime, e.g. [..., "runc", "--root", dir]. */
  argv(...cmd: string[]): string[];
  /** Wraps a whole bench-client invocation when the runtime needs it (crun's namespace). */
  wrap(argv: string[]): string[];
  missing: string | null;
}

export function runc(stateDir: string): Runtime {
  return {
    name: "runc",
    argv: (...cmd) => ["runc", "--root", stateDir, ...cmd],
    wrap: (argv) => argv,
    missing: Bun.which("runc") ? null : "runc not installed",
  };
}

export function crun(stateDir: string): Runtime {
  return {
    name: "crun",
    argv: (...cmd) => ["crun", "--root", stateDir, ...cmd],
    wrap: (argv) => ["unshare", "-m", "--propagation", "private", "sh", "-c", 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$@"', "sh", ...argv],
    missing: Bun.which("crun") ? null : "crun not installed",
  };
}

/** Best-effort removal of a container a failed run may have left behind. */
export function forceDelete(rt: Runtime, id: string): void {
  if (rt.missing) return;
  Bun.spawnSync(rt.wrap(rt.argv("delete", "-f", id)), { stdout: "ignore", stderr: "ignore" });
}
