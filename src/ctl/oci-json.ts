// OCI runtime-spec config.json (lowercase JSON, as `runc spec` writes it) -> the proto-shaped
// Spec of CreateContainer (Kata's oci.proto field names). agent-ctl uses it to run a container
// from a bundle directory; minimalSpec() builds the default `runc spec` for "rootfs + command".
// The JSON is checked with a valibot schema first; errors name the JSON field
// (`config.json process.args[0] Invalid type: Expected string but received 5`).
// Fields the proto has no place for (process.user.umask, linux.personality, ...) are dropped.
import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import * as v from "valibot";
import type { ISpec } from "../container/oci-types.ts";
import { SpecError, fieldOf } from "../container/spec-error.ts";

const Str = v.optional(v.string());
const Bool = v.optional(v.boolean());
const Num = v.optional(v.number());
const Strs = v.optional(v.array(v.string()));
const StrMap = v.optional(v.record(v.string(), v.string()));

const HookJson = v.object({ path: v.string(), args: Strs, env: Strs, timeout: Num });
const Hooks = v.optional(v.array(HookJson));
const IdMapJson = v.object({ containerID: v.number(), hostID: v.number(), size: v.number() });
const ThrottleJson = v.object({ major: v.number(), minor: v.number(), rate: v.number() });

const ConfigSchema = v.object({
  ociVersion: Str,
  process: v.optional(
    v.object({
      terminal: Bool,
      consoleSize: v.optional(v.object({ height: v.number(), width: v.number() })),
      user: v.optional(v.object({ uid: Num, gid: Num, additionalGids: v.optional(v.array(v.number())), username: Str })),
      args: Strs,
      env: Strs,
      cwd: Str,
      capabilities: v.optional(v.object({ bounding: Strs, effective: Strs, inheritable: Strs, permitted: Strs, ambient: Strs })),
      rlimits: v.optional(v.array(v.object({ type: v.string(), hard: v.number(), soft: v.number() }))),
      noNewPrivileges: Bool,
      apparmorProfile: Str,
      oomScoreAdj: Num,
      selinuxLabel: Str,
    }),
  ),
  root: v.optional(v.object({ path: v.string(), readonly: Bool })),
  hostname: Str,
  mounts: v.optional(v.array(v.object({ destination: v.string(), type: Str, source: Str, options: Strs }))),
  hooks: v.optional(
    v.object({ prestart: Hooks, createRuntime: Hooks, createContainer: Hooks, startContainer: Hooks, poststart: Hooks, poststop: Hooks }),
  ),
  annotations: StrMap,
  linux: v.optional(
    v.object({
      uidMappings: v.optional(v.array(IdMapJson)),
      gidMappings: v.optional(v.array(IdMapJson)),
      sysctl: StrMap,
      resources: v.optional(
        v.object({
          devices: v.optional(v.array(v.object({ allow: v.boolean(), type: Str, major: Num, minor: Num, access: Str }))),
          memory: v.optional(
            v.object({ limit: Num, reservation: Num, swap: Num, kernel: Num, kernelTCP: Num, swappiness: Num, disableOOMKiller: Bool }),
          ),
          cpu: v.optional(
            v.object({ shares: Num, quota: Num, period: Num, realtimeRuntime: Num, realtimePeriod: Num, cpus: Str, mems: Str }),
          ),
          pids: v.optional(v.object({ limit: v.number() })),
          blockIO: v.optional(
            v.object({
              weight: Num,
              leafWeight: Num,
              weightDevice: v.optional(v.array(v.object({ major: v.number(), minor: v.number(), weight: Num, leafWeight: Num }))),
              throttleReadBpsDevice: v.optional(v.array(ThrottleJson)),
              throttleWriteBpsDevice: v.optional(v.array(ThrottleJson)),
              throttleReadIOPSDevice: v.optional(v.array(ThrottleJson)),
              throttleWriteIOPSDevice: v.optional(v.array(ThrottleJson)),
            }),
          ),
          hugepageLimits: v.optional(v.array(v.object({ pageSize: v.string(), limit: v.number() }))),
          network: v.optional(
            v.object({ classID: Num, priorities: v.optional(v.array(v.object({ name: v.string(), priority: v.number() }))) }),
          ),
        }),
      ),
      cgroupsPath: Str,
      namespaces: v.optional(v.array(v.object({ type: v.string(), path: Str }))),
      devices: v.optional(
        v.array(v.object({ type: v.string(), path: v.string(), major: Num, minor: Num, fileMode: Num, uid: Num, gid: Num })),
      ),
      seccomp: v.optional(
        v.object({
          defaultAction: v.string(),
          architectures: Strs,
          flags: Strs,
          syscalls: v.optional(
            v.array(
              v.object({
                names: v.array(v.string()),
                action: v.string(),
                errnoRet: Num,
                args: v.optional(v.array(v.object({ index: v.number(), value: v.number(), valueTwo: Num, op: v.string() }))),
              }),
            ),
          ),
        }),
      ),
      rootfsPropagation: Str,
      maskedPaths: Strs,
      readonlyPaths: Strs,
      mountLabel: Str,
      intelRdt: v.optional(v.object({ l3CacheSchema: Str })),
    }),
  ),
});

export type OciConfig = v.InferOutput<typeof ConfigSchema>;

type HookJsonT = v.InferOutput<typeof HookJson>;
const hooks = (list: HookJsonT[] | undefined) =>
  list?.map((h) => ({ Path: h.path, Args: h.args ?? [], Env: h.env ?? [], Timeout: h.timeout ?? 0 }));
const throttle = (list: v.InferOutput<typeof ThrottleJson>[] | undefined) =>
  list?.map((t) => ({ Major: t.major, Minor: t.minor, Rate: t.rate }));
const idMaps = (list: v.InferOutput<typeof IdMapJson>[] | undefined) =>
  list?.map((m) => ({ ContainerID: m.containerID, HostID: m.hostID, Size: m.size })) ?? [];

/** Drops undefined members so the result looks like what protobufjs would hand over. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function convertLinux(l: NonNullable<OciConfig["linux"]>): NonNullable<ISpec["Linux"]> {
  const r = l.resources;
  return compact({
    UIDMappings: idMaps(l.uidMappings),
    GIDMappings: idMaps(l.gidMappings),
    Sysctl: { ...(l.sysctl ?? {}) },
    Resources: r
      ? compact({
          Devices: (r.devices ?? []).map((d) => ({ Allow: d.allow, Type: d.type ?? "a", Major: d.major ?? -1, Minor: d.minor ?? -1, Access: d.access ?? "" })),
          Memory: r.memory && compact({
            Limit: r.memory.limit, Reservation: r.memory.reservation, Swap: r.memory.swap, Kernel: r.memory.kernel,
            KernelTCP: r.memory.kernelTCP, Swappiness: r.memory.swappiness, DisableOOMKiller: r.memory.disableOOMKiller,
          }),
          CPU: r.cpu && compact({
            Shares: r.cpu.shares, Quota: r.cpu.quota, Period: r.cpu.period, RealtimeRuntime: r.cpu.realtimeRuntime,
            RealtimePeriod: r.cpu.realtimePeriod, Cpus: r.cpu.cpus, Mems: r.cpu.mems,
          }),
          Pids: r.pids && { Limit: r.pids.limit },
          BlockIO: r.blockIO && compact({
            Weight: r.blockIO.weight,
            LeafWeight: r.blockIO.leafWeight,
            WeightDevice: r.blockIO.weightDevice?.map((w) => compact({ Major: w.major, Minor: w.minor, Weight: w.weight, LeafWeight: w.leafWeight })),
            ThrottleReadBpsDevice: throttle(r.blockIO.throttleReadBpsDevice),
            ThrottleWriteBpsDevice: throttle(r.blockIO.throttleWriteBpsDevice),
            ThrottleReadIOPSDevice: throttle(r.blockIO.throttleReadIOPSDevice),
            ThrottleWriteIOPSDevice: throttle(r.blockIO.throttleWriteIOPSDevice),
          }),
          HugepageLimits: r.hugepageLimits?.map((h) => ({ Pagesize: h.pageSize, Limit: h.limit })),
          Network: r.network && compact({
            ClassID: r.network.classID,
            Priorities: r.network.priorities?.map((p) => ({ Name: p.name, Priority: p.priority })),
          }),
        })
      : undefined,
    CgroupsPath: l.cgroupsPath ?? "",
    Namespaces: (l.namespaces ?? []).map((n) => ({ Type: n.type, Path: n.path ?? "" })),
    Devices: (l.devices ?? []).map((d) => ({
      Path: d.path, Type: d.type, Major: d.major ?? 0, Minor: d.minor ?? 0, FileMode: d.fileMode ?? 0, UID: d.uid ?? 0, GID: d.gid ?? 0,
    })),
    Seccomp: l.seccomp && {
      DefaultAction: l.seccomp.defaultAction,
      Architectures: l.seccomp.architectures ?? [],
      Flags: l.seccomp.flags ?? [],
      Syscalls: (l.seccomp.syscalls ?? []).map((s) => compact({
        Names: s.names,
        Action: s.action,
        errnoret: s.errnoRet,
        Args: (s.args ?? []).map((a) => ({ Index: a.index, Value: a.value, ValueTwo: a.valueTwo ?? 0, Op: a.op })),
      })),
    },
    RootfsPropagation: l.rootfsPropagation ?? "",
    MaskedPaths: l.maskedPaths ?? [],
    ReadonlyPaths: l.readonlyPaths ?? [],
    MountLabel: l.mountLabel ?? "",
    IntelRdt: l.intelRdt && { L3CacheSchema: l.intelRdt.l3CacheSchema ?? "" },
  });
}

export interface ConvertOptions {
  /** Bundle directory: a relative root.path is resolved against it, like runc does. */
  bundleDir?: string;
}

/** Parsed config.json (any JSON value) -> proto-shaped Spec. Throws SpecError on bad JSON shapes. */
export function ociConfigToSpec(json: unknown, opts: ConvertOptions = {}): ISpec {
  const r = v.safeParse(ConfigSchema, json);
  if (!r.success) {
    const issue = r.issues[0];
    const where = fieldOf("", issue.path).replace(/^\./, "");
    throw new SpecError(where ? `config.json ${where}` : "config.json", issue.message);
  }
  const c = r.output;
  const p = c.process;
  let rootPath = c.root?.path;
  if (rootPath !== undefined && !isAbsolute(rootPath) && opts.bundleDir) rootPath = resolve(opts.bundleDir, rootPath);
  return compact({
    Version: c.ociVersion ?? "",
    Process: p && compact({
      Terminal: p.terminal ?? false,
      ConsoleSize: p.consoleSize && { Height: p.consoleSize.height, Width: p.consoleSize.width },
      User: { UID: p.user?.uid ?? 0, GID: p.user?.gid ?? 0, AdditionalGids: p.user?.additionalGids ?? [], Username: p.user?.username ?? "" },
      Args: p.args ?? [],
      Env: p.env ?? [],
      Cwd: p.cwd ?? "",
      Capabilities: p.capabilities && {
        Bounding: p.capabilities.bounding ?? [],
        Effective: p.capabilities.effective ?? [],
        Inheritable: p.capabilities.inheritable ?? [],
        Permitted: p.capabilities.permitted ?? [],
        Ambient: p.capabilities.ambient ?? [],
      },
      Rlimits: (p.rlimits ?? []).map((l) => ({ Type: l.type, Hard: l.hard, Soft: l.soft })),
      NoNewPrivileges: p.noNewPrivileges ?? false,
      ApparmorProfile: p.apparmorProfile ?? "",
      OOMScoreAdj: p.oomScoreAdj ?? 0,
      SelinuxLabel: p.selinuxLabel ?? "",
    }),
    Root: c.root && { Path: rootPath ?? "", Readonly: c.root.readonly ?? false },
    Hostname: c.hostname ?? "",
    Mounts: (c.mounts ?? []).map((m) => ({ destination: m.destination, source: m.source ?? "", type: m.type ?? "", options: m.options ?? [] })),
    Hooks: c.hooks && compact({
      Prestart: hooks(c.hooks.prestart),
      CreateRuntime: hooks(c.hooks.createRuntime),
      CreateContainer: hooks(c.hooks.createContainer),
      StartContainer: hooks(c.hooks.startContainer),
      Poststart: hooks(c.hooks.poststart),
      Poststop: hooks(c.hooks.poststop),
    }),
    Annotations: { ...(c.annotations ?? {}) },
    Linux: c.linux && convertLinux(c.linux),
  });
}

/** Reads <bundleDir>/config.json and converts it; root.path is resolved against the bundle. */
export function loadBundleSpec(bundleDir: string): ISpec {
  const file = join(bundleDir, "config.json");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new SpecError("config.json", `cannot be read from ${bundleDir}: ${(e as Error).message}`);
  }
  return ociConfigToSpec(json, { bundleDir });
}

export interface MinimalSpecOptions {
  /** Absolute path of the root filesystem in the guest. */
  rootfs: string;
  args: string[];
  /** Default: PATH (runc's default) and TERM=xterm. */
  env?: string[];
  terminal?: boolean;
  cwd?: string;
  hostname?: string;
  /** runc's template has a read-only root; "rootfs + command" runs usually want to write. */
  readonlyRoot?: boolean;
}

/** The config.json `runc spec` writes (runc 1.1), for the given rootfs and command. */
export function minimalOciConfig(o: MinimalSpecOptions): OciConfig {
  const caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
  return {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: o.terminal ?? false,
      user: { uid: 0, gid: 0 },
      args: [...o.args],
      env: o.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: o.cwd ?? "/",
      // No ambient set: raising an ambient capability needs it in the inheritable set too,
      // which runc's template leaves empty (containerd's default spec has neither).
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: o.rootfs, readonly: o.readonlyRoot ?? false },
    hostname: o.hostname ?? "container",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

/** minimalOciConfig() as a proto-shaped Spec, ready for CreateContainerRequest.OCI. */
export function minimalSpec(o: MinimalSpecOptions): ISpec {
  return ociConfigToSpec(minimalOciConfig(o));
}
