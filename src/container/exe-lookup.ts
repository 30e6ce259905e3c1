// Resolves Process.Args[0] to the absolute path the launcher will execve inside the container,
// so that a bad command fails CreateContainer/ExecProcess with a clear message instead of a bare
// ENOENT from the child. Like execvp: a name with a slash is taken as a path (relative to Cwd),
// a bare name is searched in PATH from the process environment (or the default PATH).
// Lookups go through a RootView, so symlinks are followed inside the container only.
import { posix } from "node:path";
import type { RootView } from "./rootfs-view.ts";
import { SymlinkLoopError } from "./rootfs-view.ts";
import { SpecError, q } from "./spec-error.ts";

/** What runc and Docker put in PATH by default; also our search path when Env has no PATH. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Value of NAME in a KEY=value list; the first entry wins, as with getenv(). */
export function envValue(env: readonly string[], name: string): string | undefined {
  const prefix = name + "=";
  const hit = env.find((e) => e.startsWith(prefix));
  return hit === undefined ? undefined : hit.slice(prefix.length);
}

type Candidate = "ok" | "missing" | "directory" | "not-executable" | "loop";

function examine(view: RootView, path: string): Candidate {
  let found;
  try {
    found = view.stat(path);
  } catch (e) {
    if (e instanceof SymlinkLoopError) return "loop";
    throw e;
  }
  if (!found) return "missing";
  const { stats } = found;
  if (stats.isDirectory()) return "directory";
  // Any execute bit: the launcher runs the workload as root or as the spec's user, and execve
  // itself gives the exact answer; this catches the common mistake (a data file, mode 0644).
  if (!stats.isFile() || (stats.mode & 0o111) === 0) return "not-executable";
  return "ok";
}

export interface ExeLookupOptions {
  /** Container working directory for relative names and relative PATH entries ("/" default). */
  cwd?: string;
  /** Field name for errors ("Process.Args[0]"). */
  field?: string;
}

export function lookupExecutable(view: RootView, arg0: string, env: readonly string[], opts: ExeLookupOptions = {}): string {
  const field = opts.field ?? "Process.Args[0]";
  const cwd = opts.cwd || "/";
  if (arg0 === "") throw new SpecError(field, "is empty");

  if (arg0.includes("/")) {
    const path = posix.normalize(arg0.startsWith("/") ? arg0 : posix.join(cwd, arg0));
    const r = examine(view, path);
    switch (r) {
      case "ok": return path;
      case "missing": throw new SpecError(field, `${q(arg0)}: no such file in the container`);
      case "directory": throw new SpecError(field, `${q(arg0)} is a directory`);
      case "not-executable": throw new SpecError(field, `${q(arg0)} is not an executable file`);
      case "loop": throw new SpecError(field, `${q(arg0)}: too many levels of symbolic links`);
    }
  }

  const searchPath = envValue(env, "PATH") ?? DEFAULT_PATH;
  let notExecutable: string | undefined;
  for (const dir of searchPath.split(":")) {
    // execvp treats an empty entry as the current directory.
    const base = dir === "" ? cwd : dir.startsWith("/") ? dir : posix.join(cwd, dir);
    const candidate = posix.normalize(posix.join(base, arg0));
    const r = examine(view, candidate);
    if (r === "ok") return candidate;
    if (r === "not-executable") notExecutable ??= candidate;
  }
  if (notExecutable !== undefined) {
    throw new SpecError(field, `${q(arg0)}: found ${notExecutable} in PATH but it is not executable`);
  }
  throw new SpecError(field, `${q(arg0)}: not found in PATH (${searchPath})`);
}
