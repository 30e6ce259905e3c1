// Semantic validation of the OCI spec of CreateContainer (and of the Process of ExecProcess),
// before anything is mounted or started. Field rules are valibot schemas; rules that relate
// several fields (namespaces vs. hostname, sysctls, masked paths) are checked afterwards.
// Every error is a SpecError whose message starts with the field, e.g.
//   Spec.Mounts[2].destination "proc" is not absolute
//
// Kata's rules (rustjail validator.rs) are kept: hostname needs a uts namespace, masked/readonly
// paths need a mount namespace, sysctls must be namespaced (ipc ones need an ipc namespace,
// net.* are allowed because the guest's network namespace belongs to the pod, kernel.domainname
// needs a uts namespace), uid/gid mappings only with user namespaces. Stricter than Kata:
// Root.Path must be absolute (Kata would resolve a relative one against its own working
// directory), a new mount namespace is required (the launcher pivots into the rootfs), user and
// time namespaces are rejected (not supported by the launcher), unknown capability names and
// duplicate namespace or rlimit types are errors instead of being ignored.
import * as v from "valibot";
import { isCapName } from "./caps.ts";
import { namespaceKind, OCI_NAMESPACE_TYPES, UNSUPPORTED_OCI_NAMESPACES } from "./namespaces.ts";
import { i64, isInt64Like, u64 } from "./numbers.ts";
import type { Int64, IProcess, ISpec } from "./oci-types.ts";
import { PROPAGATION_OPTIONS } from "./mount-options.ts";
import { rlimitNumber } from "./rlimits.ts";
import { SpecError, fieldOf, q } from "./spec-error.ts";
import { checkProcessLimits, checkSpecLimits } from "./spec-limits.ts";

const hasDotDot = (p: string) => p.split("/").includes("..");

/** An absolute container path without ".." components. */
function containerPath() {
  return v.pipe(
    v.string(),
    v.check((s: string) => s !== "", "is empty"),
    v.check((s: string) => s.startsWith("/"), (i) => `${q(i.input)} is not absolute`),
    v.check((s: string) => !hasDotDot(s), (i) => `${q(i.input)} contains a ".." component`),
  );
}

const Id32 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffff_ffff));
/** A uid/gid to run as: 4294967295 is (uid_t)-1, which setresuid/setresgid read as "leave
 *  unchanged", so the workload would keep the agent's root identity. */
const RunId = v.pipe(
  v.number(), v.integer(), v.minValue(0),
  v.maxValue(0xffff_fffe, (i) => `${q(i.input)} is not a usable id (4294967295 means "unchanged" to the kernel)`),
);
const Int = v.custom<Int64>(isInt64Like, (i) => `${q(i.input)} is not an integer`);
const StrList = v.nullish(v.array(v.string()));

const CapList = v.nullish(
  v.array(v.pipe(v.string(), v.check(isCapName, (i) => `${q(i.input)} is not a known capability (CAP_CHOWN ... CAP_CHECKPOINT_RESTORE)`))),
);

const RlimitSchema = v.pipe(
  v.object({
    Type: v.pipe(v.string(), v.check((s: string) => rlimitNumber(s) !== undefined, (i) => `${q(i.input)} is not a known rlimit (RLIMIT_NOFILE, RLIMIT_NPROC, ...)`)),
    Hard: v.nullish(Int),
    Soft: v.nullish(Int),
  }),
  v.check((r) => u64(r.Soft) <= u64(r.Hard), (i) => `soft limit ${u64(i.input.Soft)} is above hard limit ${u64(i.input.Hard)}`),
);

const ProcessSchema = v.object({
  Terminal: v.nullish(v.boolean()),
  User: v.nullish(
    v.object({
      UID: v.nullish(RunId),
      GID: v.nullish(RunId),
      AdditionalGids: v.nullish(v.array(RunId)),
      Username: v.nullish(v.string()),
    }),
  ),
  Args: v.pipe(
    v.nullish(v.array(v.string())),
    v.check((a) => (a?.length ?? 0) > 0, "is required: the command to run"),
    v.check((a) => a?.[0] !== "", "starts with an empty command"),
  ),
  Env: StrList,
  Cwd: v.nullish(v.pipe(v.string(), v.check((s: string) => s === "" || s.startsWith("/"), (i) => `${q(i.input)} is not absolute`))),
  Capabilities: v.nullish(
    v.object({ Bounding: CapList, Effective: CapList, Inheritable: CapList, Permitted: CapList, Ambient: CapList }),
  ),
  Rlimits: v.nullish(
    v.pipe(
      v.array(RlimitSchema),
      v.check(
        (list) => new Set(list.map((r) => r.Type)).size === list.length,
        (i) => `lists ${q(firstDuplicate(i.input.map((r) => r.Type)))} more than once`,
      ),
    ),
  ),
  NoNewPrivileges: v.nullish(v.boolean()),
  OOMScoreAdj: v.nullish(
    v.pipe(Int, v.check((x) => i64(x) >= -1000 && i64(x) <= 1000, (i) => `${q(i64(i.input))} is outside -1000..1000`)),
  ),
});

function firstDuplicate(items: readonly unknown[]): unknown {
  const seen = new Set<unknown>();
  for (const x of items) {
    if (seen.has(x)) return x;
    seen.add(x);
  }
  return undefined;
}

function namespaceTypeMessage(t: unknown): string {
  if (typeof t === "string" && UNSUPPORTED_OCI_NAMESPACES.includes(t)) return `${q(t)} namespaces are not supported by this agent`;
  return `${q(t)} is not a namespace type (${OCI_NAMESPACE_TYPES.join(", ")})`;
}

const NamespaceSchema = v.pipe(
  v.object({
    Type: v.pipe(v.string(), v.check((t: string) => namespaceKind(t) !== undefined, (i) => namespaceTypeMessage(i.input))),
    Path: v.nullish(v.pipe(v.string(), v.check((s: string) => s === "" || s.startsWith("/"), (i) => `${q(i.input)} is not absolute`))),
  }),
  // A new user namespace is made with the container (hostUsers: false); joining one is not.
  v.check((n) => n.Type !== "user" || !n.Path, (i) => `"user" with Path ${q(i.input.Path)}: joining a user namespace is not supported (only a new one)`),
);

/** The kernel takes at most 340 lines per uid_map / gid_map. */
const IdMappings = v.nullish(
  v.pipe(
    v.array(v.object({ ContainerID: v.nullish(Id32), HostID: v.nullish(Id32), Size: v.nullish(v.pipe(Id32, v.minValue(1, "Size must be at least 1"))) })),
    v.maxLength(340, "has more than 340 ranges (the kernel's limit)"),
  ),
);

const DeviceSchema = v.object({
  Path: v.pipe(containerPath(), v.check((s: string) => s.startsWith("/dev/"), (i) => `${q(i.input)} is not under /dev`)),
  Type: v.pipe(v.string(), v.check((t: string) => ["c", "b", "u", "p"].includes(t), (i) => `${q(i.input)} is not a device type (c, b, u, p)`)),
  Major: v.nullish(Int),
  Minor: v.nullish(Int),
  FileMode: v.nullish(Id32),
  UID: v.nullish(Id32),
  GID: v.nullish(Id32),
});

const LinuxSchema = v.object({
  UIDMappings: IdMappings,
  GIDMappings: IdMappings,
  Sysctl: v.nullish(v.record(v.string(), v.string())),
  CgroupsPath: v.nullish(v.string()),
  Namespaces: v.nullish(
    v.pipe(
      v.array(NamespaceSchema),
      v.check(
        (list) => new Set(list.map((n) => n.Type)).size === list.length,
        (i) => `has ${q(firstDuplicate(i.input.map((n) => n.Type)))} more than once`,
      ),
    ),
  ),
  Devices: v.nullish(v.array(DeviceSchema)),
  RootfsPropagation: v.nullish(
    v.pipe(v.string(), v.check((s: string) => s === "" || Object.hasOwn(PROPAGATION_OPTIONS, s), (i) => `${q(i.input)} is not a propagation mode (${Object.keys(PROPAGATION_OPTIONS).join(", ")})`)),
  ),
  MaskedPaths: v.nullish(v.array(containerPath())),
  ReadonlyPaths: v.nullish(v.array(containerPath())),
});

const MountSchema = v.object({
  destination: containerPath(),
  source: v.nullish(v.string()),
  type: v.nullish(v.string()),
  options: StrList,
});

const required = <T>(schema: v.GenericSchema<unknown, T>) =>
  v.pipe(v.nullish(schema), v.check((x) => x !== null && x !== undefined, "is required"));

const SpecSchema = v.object({
  Process: required(ProcessSchema),
  Root: required(
    v.object({
      Path: v.pipe(
        v.nullish(v.string()),
        v.check((s) => !!s, "is required"),
        v.check((s) => !s || s.startsWith("/"), (i) => `${q(i.input)} is relative: the rootfs must be an absolute path in the guest`),
      ),
      Readonly: v.nullish(v.boolean()),
    }),
  ),
  Hostname: v.nullish(v.string()),
  Mounts: v.nullish(v.array(MountSchema)),
  Linux: required(LinuxSchema),
});

function parseOrThrow(schema: v.GenericSchema, input: unknown, base: string): void {
  const r = v.safeParse(schema, input, { abortPipeEarly: true });
  if (r.success) return;
  const issue = r.issues[0];
  const more = r.issues.length > 1 ? ` (and ${r.issues.length - 1} more problem${r.issues.length > 2 ? "s" : ""})` : "";
  throw new SpecError(fieldOf(base, issue.path), issue.message + more);
}

// Sysctls that belong to the ipc namespace (Kata's list plus the fs.mqueue.* prefix).
const IPC_SYSCTLS = new Set([
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
  "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
]);

/** Why a sysctl may not be set in this container, or undefined when it may. */
export function sysctlProblem(key: string, namespaceTypes: ReadonlySet<string>): string | undefined {
  const k = key.replaceAll("/", ".");
  if (IPC_SYSCTLS.has(k) || k.startsWith("fs.mqueue.")) {
    return namespaceTypes.has("ipc") ? undefined : "needs an ipc namespace";
  }
  // The guest's network namespace is the pod's (Kata does not expect a network ns in the spec).
  if (k.startsWith("net.")) return undefined;
  if (k === "kernel.domainname") return namespaceTypes.has("uts") ? undefined : "needs a uts namespace";
  if (k === "kernel.hostname") return "cannot be set as a sysctl: use Spec.Hostname";
  return "is not a namespaced sysctl and would change the whole guest";
}

const PROC_BIND_ALLOWED = new Set([
  "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
  "/proc/loadavg", "/proc/net/dev",
]);

export function isBindMount(m: { type?: string | null; options?: readonly string[] | null }): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

function crossChecks(spec: ISpec): void {
  const linux = spec.Linux!;
  const nsTypes = new Set((linux.Namespaces ?? []).map((n) => n.Type ?? ""));
  const hasMappings = (linux.UIDMappings?.length ?? 0) > 0 || (linux.GIDMappings?.length ?? 0) > 0;
  if (nsTypes.has("user") && (!linux.UIDMappings?.length || !linux.GIDMappings?.length)) {
    throw new SpecError("Spec.Linux.UIDMappings", `and GIDMappings are required with a "user" namespace`);
  }
  if (!nsTypes.has("user") && hasMappings) {
    throw new SpecError("Spec.Linux.UIDMappings", `and GIDMappings need a "user" namespace in Spec.Linux.Namespaces`);
  }
  const mountNs = (linux.Namespaces ?? []).find((n) => n.Type === "mount");
  if (!mountNs) {
    throw new SpecError("Spec.Linux.Namespaces", `has no "mount" namespace: the container needs its own to get its root filesystem`);
  }
  if (mountNs.Path) {
    throw new SpecError("Spec.Linux.Namespaces", `joins the mount namespace ${q(mountNs.Path)}: a container needs a new one for its root filesystem`);
  }
  if (spec.Hostname && !nsTypes.has("uts")) {
    throw new SpecError("Spec.Hostname", `${q(spec.Hostname)} needs a "uts" namespace in Spec.Linux.Namespaces`);
  }
  for (const [key] of Object.entries(linux.Sysctl ?? {})) {
    const problem = sysctlProblem(key, nsTypes);
    if (problem) throw new SpecError(`Spec.Linux.Sysctl[${q(key)}]`, problem);
  }
  (spec.Mounts ?? []).forEach((m, i) => {
    const dest = m.destination ?? "";
    if (!isBindMount(m) || PROC_BIND_ALLOWED.has(dest)) return;
    if (dest === "/proc" || dest.startsWith("/proc/")) {
      throw new SpecError(`Spec.Mounts[${i}].destination`, `${q(dest)}: bind mounts over /proc are not allowed`);
    }
  });
}

/** Validates the Spec of CreateContainer; throws SpecError naming the first bad field. */
declare const checked: unique symbol;
/** A spec that passed validateSpec: the planner takes only these, so validation happens once. */
export type ValidSpec = ISpec & { readonly [checked]: true };

export function validateSpec(spec: ISpec | null | undefined): ValidSpec {
  if (spec === null || spec === undefined) throw new SpecError("Spec", "is required");
  if (typeof spec === "object") checkSpecLimits(spec);
  parseOrThrow(SpecSchema, spec, "Spec");
  crossChecks(spec);
  return spec as ValidSpec;
}

/** Validates a Process on its own (ExecProcess); `base` prefixes field names. */
export function validateProcess(process: IProcess | null | undefined, base = "Process"): void {
  if (process === null || process === undefined) throw new SpecError(base, "is required");
  if (typeof process === "object") checkProcessLimits(process, base);
  parseOrThrow(ProcessSchema, process, base);
}
