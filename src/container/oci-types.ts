// Structural types for the OCI messages of Kata's oci.proto (package grpc), with the proto's own
// field names (CamelCase, except Mount's lowercase fields). They match what protobufjs static code
// generated with --keep-case produces (every field optional and nullable), so a decoded
// grpc.Spec, a plain object from fromObject(), or a hand-written literal are all accepted.
// When src/gen/index.ts lands these become aliases of grpc.ISpec & co.
//
// 64-bit fields are `Int64` because their runtime type depends on how the code was generated
// (--force-number gives number, the default gives Long); read them with u64()/i64() in numbers.ts.

export type Int64 = number | bigint | string | { toString(): string };
type Opt<T> = T | null | undefined;

export interface ISpec {
  Version?: Opt<string>;
  Process?: Opt<IProcess>;
  Root?: Opt<IRoot>;
  Hostname?: Opt<string>;
  Mounts?: Opt<IMount[]>;
  Hooks?: Opt<IHooks>;
  Annotations?: Opt<Record<string, string>>;
  Linux?: Opt<ILinux>;
  Solaris?: Opt<{ dummy?: Opt<string> }>;
  Windows?: Opt<{ dummy?: Opt<string> }>;
}

export interface IProcess {
  Terminal?: Opt<boolean>;
  ConsoleSize?: Opt<IBox>;
  User?: Opt<IUser>;
  Args?: Opt<string[]>;
  Env?: Opt<string[]>;
  Cwd?: Opt<string>;
  Capabilities?: Opt<ILinuxCapabilities>;
  Rlimits?: Opt<IPOSIXRlimit[]>;
  NoNewPrivileges?: Opt<boolean>;
  ApparmorProfile?: Opt<string>;
  OOMScoreAdj?: Opt<Int64>;
  SelinuxLabel?: Opt<string>;
}

export interface IBox {
  Height?: Opt<number>;
  Width?: Opt<number>;
}

export interface IUser {
  UID?: Opt<number>;
  GID?: Opt<number>;
  AdditionalGids?: Opt<number[]>;
  Username?: Opt<string>;
}

export interface ILinuxCapabilities {
  Bounding?: Opt<string[]>;
  Effective?: Opt<string[]>;
  Inheritable?: Opt<string[]>;
  Permitted?: Opt<string[]>;
  Ambient?: Opt<string[]>;
}

export interface IPOSIXRlimit {
  Type?: Opt<string>;
  Hard?: Opt<Int64>;
  Soft?: Opt<Int64>;
}

export interface IMount {
  destination?: Opt<string>;
  source?: Opt<string>;
  type?: Opt<string>;
  options?: Opt<string[]>;
}

export interface IRoot {
  Path?: Opt<string>;
  Readonly?: Opt<boolean>;
}

export interface IHook {
  Path?: Opt<string>;
  Args?: Opt<string[]>;
  Env?: Opt<string[]>;
  Timeout?: Opt<Int64>;
}

export interface IHooks {
  Prestart?: Opt<IHook[]>;
  Poststart?: Opt<IHook[]>;
  Poststop?: Opt<IHook[]>;
  CreateRuntime?: Opt<IHook[]>;
  CreateContainer?: Opt<IHook[]>;
  StartContainer?: Opt<IHook[]>;
}

export interface ILinux {
  UIDMappings?: Opt<ILinuxIDMapping[]>;
  GIDMappings?: Opt<ILinuxIDMapping[]>;
  Sysctl?: Opt<Record<string, string>>;
  Resources?: Opt<ILinuxResources>;
  CgroupsPath?: Opt<string>;
  Namespaces?: Opt<ILinuxNamespace[]>;
  Devices?: Opt<ILinuxDevice[]>;
  Seccomp?: Opt<ILinuxSeccomp>;
  RootfsPropagation?: Opt<string>;
  MaskedPaths?: Opt<string[]>;
  ReadonlyPaths?: Opt<string[]>;
  MountLabel?: Opt<string>;
  IntelRdt?: Opt<{ L3CacheSchema?: Opt<string> }>;
}

export interface ILinuxIDMapping {
  HostID?: Opt<number>;
  ContainerID?: Opt<number>;
  Size?: Opt<number>;
}

export interface ILinuxNamespace {
  Type?: Opt<string>;
  Path?: Opt<string>;
}

export interface ILinuxDevice {
  Path?: Opt<string>;
  Type?: Opt<string>;
  Major?: Opt<Int64>;
  Minor?: Opt<Int64>;
  FileMode?: Opt<number>;
  UID?: Opt<number>;
  GID?: Opt<number>;
}

export interface ILinuxResources {
  Devices?: Opt<ILinuxDeviceCgroup[]>;
  Memory?: Opt<ILinuxMemory>;
  CPU?: Opt<ILinuxCPU>;
  Pids?: Opt<{ Limit?: Opt<Int64> }>;
  BlockIO?: Opt<ILinuxBlockIO>;
  HugepageLimits?: Opt<{ Pagesize?: Opt<string>; Limit?: Opt<Int64> }[]>;
  Network?: Opt<{ ClassID?: Opt<number>; Priorities?: Opt<{ Name?: Opt<string>; Priority?: Opt<number> }[]> }>;
}

export interface ILinuxDeviceCgroup {
  Allow?: Opt<boolean>;
  Type?: Opt<string>;
  Major?: Opt<Int64>;
  Minor?: Opt<Int64>;
  Access?: Opt<string>;
}

export interface ILinuxMemory {
  Limit?: Opt<Int64>;
  Reservation?: Opt<Int64>;
  Swap?: Opt<Int64>;
  Kernel?: Opt<Int64>;
  KernelTCP?: Opt<Int64>;
  Swappiness?: Opt<Int64>;
  DisableOOMKiller?: Opt<boolean>;
}

export interface ILinuxCPU {
  Shares?: Opt<Int64>;
  Quota?: Opt<Int64>;
  Period?: Opt<Int64>;
  RealtimeRuntime?: Opt<Int64>;
  RealtimePeriod?: Opt<Int64>;
  Cpus?: Opt<string>;
  Mems?: Opt<string>;
}

export interface ILinuxThrottleDevice {
  Major?: Opt<Int64>;
  Minor?: Opt<Int64>;
  Rate?: Opt<Int64>;
}

export interface ILinuxBlockIO {
  Weight?: Opt<number>;
  LeafWeight?: Opt<number>;
  WeightDevice?: Opt<{ Major?: Opt<Int64>; Minor?: Opt<Int64>; Weight?: Opt<number>; LeafWeight?: Opt<number> }[]>;
  ThrottleReadBpsDevice?: Opt<ILinuxThrottleDevice[]>;
  ThrottleWriteBpsDevice?: Opt<ILinuxThrottleDevice[]>;
  ThrottleReadIOPSDevice?: Opt<ILinuxThrottleDevice[]>;
  ThrottleWriteIOPSDevice?: Opt<ILinuxThrottleDevice[]>;
}

export interface ILinuxSeccomp {
  DefaultAction?: Opt<string>;
  Architectures?: Opt<string[]>;
  Flags?: Opt<string[]>;
  Syscalls?: Opt<ILinuxSyscall[]>;
}

export interface ILinuxSyscall {
  Names?: Opt<string[]>;
  Action?: Opt<string>;
  errnoret?: Opt<number>;
  Args?: Opt<{ Index?: Opt<Int64>; Value?: Opt<Int64>; ValueTwo?: Opt<Int64>; Op?: Opt<string> }[]>;
}
