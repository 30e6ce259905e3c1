// cgroupfs file access shared by the v1 and v2 managers. The files are tiny, so synchronous node:fs
// calls are fine. Writes open O_WRONLY|O_TRUNC without O_CREAT: a control file that does not exist
// is an error (ENOENT), never a silently created regular file.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, writeSync, constants } from "node:fs";
import { join } from "node:path";
import { log } from "../log/logger.ts";
import { O_CLOEXEC } from "../sys/consts.ts";

export const cgLog = log.child({ subsystem: "cgroups" });


/** A cgroupfs operation that failed; `code` is the errno name ("EINVAL", "EBUSY", ...). */
export class CgroupError extends Error {
  constructor(message: string, readonly code?: string, readonly kind: "internal" | "invalid" | "exists" = "internal") {
    super(message);
    this.name = "CgroupError";
  }
}

function codeOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
}

const VALUE_REFUSED = ["EINVAL", "ERANGE", "EBUSY", "EOVERFLOW"];

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes one value with one write(2), as the kernel expects for control files. */
export function writeValue(dir: string, file: string, value: string | number): void {
  writeValues(dir, file, [value]);
}

/**
 * Writes each value with its own write(2) through one open file: the kernel parses every write on
 * its own (devices.allow takes one rule per write), so this is a run of writeValue() calls
 * without an open and a close per value.
 */
export function writeValues(dir: string, file: string, values: readonly (string | number)[]): void {
  const path = join(dir, file);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC | O_CLOEXEC);
  } catch (e) {
    throw new CgroupError(`cgroups: open ${path} for writing: ${codeOf(e) ?? String(e)}`, codeOf(e));
  }
  try {
    for (const value of values) {
      const text = String(value);
      try {
        writeSync(fd, text);
      } catch (e) {
        // The kernel refusing a value (out of range, below current usage) is the request's fault.
        const code = codeOf(e);
        const kind = code && VALUE_REFUSED.includes(code) ? "invalid" : "internal";
        throw new CgroupError(`cgroups: write ${JSON.stringify(text)} to ${path}: ${code ?? String(e)}`, code, kind);
      }
      cgLog.trace("cgroup write", { path, value: text });
    }
  } finally {
    closeSync(fd);
  }
}

export function readValue(dir: string, file: string): string {
  const path = join(dir, file);
  try {
    return readFileSync(path, "utf8").trim();
  } catch (e) {
    throw new CgroupError(`cgroups: read ${path}: ${codeOf(e) ?? String(e)}`, codeOf(e));
  }
}

/** The file's trimmed content, or undefined when it cannot be read (controller absent, old kernel). */
export function readOptional(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), "utf8").trim();
  } catch {
    return undefined;
  }
}

export function hasFile(dir: string, file: string): boolean {
  return existsSync(join(dir, file));
}

/** Opens `<dir>/cgroup.procs` O_WRONLY|O_CLOEXEC for the launcher (which writes "0"); caller closes. */
export function openProcs(dir: string): number {
  const path = join(dir, "cgroup.procs");
  try {
    return openSync(path, constants.O_WRONLY | O_CLOEXEC);
  } catch (e) {
    throw new CgroupError(`cgroups: open ${path}: ${codeOf(e) ?? String(e)}`, codeOf(e));
  }
}

/** The pids in `<dir>/cgroup.procs` and in every cgroup below it (sub-cgroups a container made). */
export function readProcsRecursive(dir: string): number[] {
  const pids = new Set<number>();
  const walk = (d: string): void => {
    const text = readOptional(d, "cgroup.procs");
    if (text === undefined) return;
    for (const w of text.split("\n")) if (w.trim() !== "") pids.add(Number(w));
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(dir);
  return [...pids];
}

/**
 * Directories made by any manager of this process. destroy() removes only these, so a cgroup the
 * agent did not create (an existing parent, the hierarchy root) is never removed, and a parent made
 * for one container is removed by whichever container leaves it empty last.
 */
const createdByUs = new Set<string>();

export interface Level {
  dir: string;
  parent: string;
  created: boolean;
}

/**
 * A container's cgroup is always one the agent makes: an existing directory belongs to someone
 * else (another container, a system service, the agent itself), and adopting it would rewrite its
 * device rules and limits, and freeze and kill its processes on removal. The leaf's mkdir(2) is
 * the check (EEXIST), so there is no window between a check and the mkdir.
 */
export function makeNewLevels(root: string, rel: string): Level[] {
  const levels = makeLevels(root, rel);
  const leaf = levels[levels.length - 1]!;
  if (!leaf.created) {
    throw new CgroupError(`cgroupsPath ${JSON.stringify(rel)}: cgroup ${leaf.dir} already exists; the agent only uses cgroups it creates`, "EEXIST", "exists");
  }
  return levels;
}

/** Undoes makeNewLevels for a cgroup no process was put in yet (a create that failed later):
 *  the leaf, then the ancestors this process made that are now empty. Never throws. */
export function undoNewLevels(root: string, leaf: string): void {
  try {
    rmdirSync(leaf);
    createdByUs.delete(leaf);
    removeCreatedAncestors(root, leaf);
  } catch (e) {
    cgLog.warn("cgroups: undoing a cgroup made for a failed create", { path: leaf, error: codeOf(e) ?? String(e) });
  }
}

/**
 * mkdir every level of `rel` below `root`; reports which levels were new. The leaf is tried first:
 * usually every parent exists and only the leaf is new, so one mkdir(2) per hierarchy is enough.
 */
export function makeLevels(root: string, rel: string): Level[] {
  const levels: Level[] = [];
  let parent = root;
  for (const segment of rel.split("/")) {
    const dir = join(parent, segment);
    levels.push({ dir, parent, created: false });
    parent = dir;
  }
  // Walk up while the parent is missing (the top level's parent is `root`: ENOENT there throws),
  // then make the missing levels top-down.
  let i = levels.length - 1;
  for (;;) {
    const made = makeLevel(levels[i]!.dir, i > 0);
    if (made !== "no-parent") {
      levels[i]!.created = made === "created";
      break;
    }
    i--;
  }
  for (let j = i + 1; j < levels.length; j++) {
    levels[j]!.created = makeLevel(levels[j]!.dir, false) === "created";
  }
  return levels;
}

/** One mkdir(2). ENOENT is reported as "no-parent" when `parentMayBeMissing`, else an error. */
function makeLevel(dir: string, parentMayBeMissing: boolean): "created" | "exists" | "no-parent" {
  try {
    mkdirSync(dir);
    createdByUs.add(dir);
    return "created";
  } catch (e) {
    const code = codeOf(e);
    if (code === "EEXIST") return "exists";
    if (code === "ENOENT" && parentMayBeMissing) return "no-parent";
    throw new CgroupError(`cgroups: mkdir ${dir}: ${code ?? String(e)}`, code);
  }
}

/** Sub-cgroups a container made inside its own cgroup (cgroupns, nested runtimes) block rmdir. */
function removeChildCgroups(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const child = join(dir, e.name);
    removeChildCgroups(child);
    try {
      rmdirSync(child);
    } catch {
      // Still busy: the caller's retry loop comes back to it.
    }
  }
}

/**
 * Removes `leaf` (retrying on EBUSY while its tasks drain, up to timeoutMs) and then each ancestor
 * up to `root` that this process created and that is now unused. Nothing else is touched. Throws
 * a CgroupError naming the remaining pids when the leaf stays busy.
 */
export async function removeLevels(root: string, leaf: string, timeoutMs: number): Promise<void> {
  if (!createdByUs.has(leaf)) {
    cgLog.info("cgroup not created by the agent, left in place", { path: leaf });
    return;
  }
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      // Listing a v1 cgroup directory costs as much as the rmdir: only look for sub-cgroups once
      // a plain rmdir has failed.
      if (attempt > 0) removeChildCgroups(leaf);
      rmdirSync(leaf);
      break;
    } catch (e) {
      const code = codeOf(e);
      if (code === "ENOENT") break;
      // cgroupfs says EBUSY for tasks or sub-cgroups still inside (ENOTEMPTY elsewhere).
      if ((code !== "EBUSY" && code !== "ENOTEMPTY") || Date.now() >= deadline) {
        const pids = readProcsRecursive(leaf);
        throw new CgroupError(
          `cgroups: remove ${leaf}: ${code ?? String(e)}` + (pids.length ? ` (processes still inside: ${pids.join(" ")})` : ""),
          code,
        );
      }
      if (attempt > 0) await sleep(10);
    }
  }
  createdByUs.delete(leaf);
  removeCreatedAncestors(root, leaf);
}

/** rmdir each ancestor of `leaf` below `root` that this process created, while they are empty. */
function removeCreatedAncestors(root: string, leaf: string): void {
  let dir = leaf;
  for (;;) {
    const parent = dir.slice(0, dir.lastIndexOf("/"));
    if (parent.length <= root.length || !parent.startsWith(root + "/") || !createdByUs.has(parent)) return;
    try {
      rmdirSync(parent);
    } catch (e) {
      // Another container still lives below it: the last one out removes it.
      if (codeOf(e) === "EBUSY" || codeOf(e) === "ENOTEMPTY") return;
      if (codeOf(e) !== "ENOENT") throw new CgroupError(`cgroups: remove ${parent}: ${codeOf(e) ?? String(e)}`, codeOf(e));
    }
    createdByUs.delete(parent);
    dir = parent;
  }
}

/** Page sizes ("2MB", "1GB") for which the directory has a file hugetlb.<size><suffix>. */
export function hugepageSizes(dir: string, suffix: string): string[] {
  const sizes: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return sizes;
  }
  for (const name of names) {
    if (name.startsWith("hugetlb.") && name.endsWith(suffix)) {
      const size = name.slice("hugetlb.".length, name.length - suffix.length);
      if (size && !size.includes(".")) sizes.push(size);
    }
  }
  return sizes;
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // The fd is being abandoned on an error path; a failed close changes nothing.
  }
}
