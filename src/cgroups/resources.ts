// Structural input types for the cgroup managers: Kata's oci.proto `LinuxResources` as protobufjs
// decodes it (CamelCase field names exactly as in oci.proto). Every field is optional and may be
// null, so both a hand-written object and a generated message fit. int64/uint64 fields may arrive
// as numbers or as Long objects (protobufjs without --force-number): read them through int().
//
// proto3 has no presence for scalars: an unset Limit and `Limit: 0` look the same. Like Kata's
// agent, the managers therefore treat 0 as "not requested" for every scalar limit.

/** An int64 as protobufjs may hand it over: number, bigint or a Long. */
export type Int64 = number | bigint | { toNumber(): number } | null;

export interface LinuxDeviceCgroup {
  Allow?: boolean | null;
  /** "a" (all), "c", "b"; empty means all. */
  Type?: string | null;
  /** -1 = any. */
  Major?: Int64;
  Minor?: Int64;
  /** Subset of "rwm". */
  Access?: string | null;
}

export interface LinuxMemory {
  Limit?: Int64;
  Reservation?: Int64;
  /** memory + swap (the OCI/v1 meaning). */
  Swap?: Int64;
  Kernel?: Int64;
  KernelTCP?: Int64;
  Swappiness?: Int64;
  DisableOOMKiller?: boolean | null;
}

export interface LinuxCPU {
  Shares?: Int64;
  Quota?: Int64;
  Period?: Int64;
  RealtimeRuntime?: Int64;
  RealtimePeriod?: Int64;
  Cpus?: string | null;
  Mems?: string | null;
}

export interface LinuxPids {
  Limit?: Int64;
}

export interface LinuxWeightDevice {
  Major?: Int64;
  Minor?: Int64;
  Weight?: number | null;
  LeafWeight?: number | null;
}

export interface LinuxThrottleDevice {
  Major?: Int64;
  Minor?: Int64;
  Rate?: Int64;
}

export interface LinuxBlockIO {
  Weight?: number | null;
  LeafWeight?: number | null;
  WeightDevice?: LinuxWeightDevice[] | null;
  ThrottleReadBpsDevice?: LinuxThrottleDevice[] | null;
  ThrottleWriteBpsDevice?: LinuxThrottleDevice[] | null;
  ThrottleReadIOPSDevice?: LinuxThrottleDevice[] | null;
  ThrottleWriteIOPSDevice?: LinuxThrottleDevice[] | null;
}

export interface LinuxHugepageLimit {
  /** "2MB", "1GB", ... as in the kernel's hugetlb.<size>.* file names. */
  Pagesize?: string | null;
  Limit?: Int64;
}

export interface LinuxInterfacePriority {
  Name?: string | null;
  Priority?: number | null;
}

export interface LinuxNetwork {
  ClassID?: number | null;
  Priorities?: LinuxInterfacePriority[] | null;
}

export interface Resources {
  Devices?: LinuxDeviceCgroup[] | null;
  Memory?: LinuxMemory | null;
  CPU?: LinuxCPU | null;
  Pids?: LinuxPids | null;
  BlockIO?: LinuxBlockIO | null;
  HugepageLimits?: LinuxHugepageLimit[] | null;
  Network?: LinuxNetwork | null;
}

/** The numeric value of an int64 field; 0 when absent. */
export function int(v: Int64 | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return v.toNumber();
}

/** Non-empty string or undefined. */
export function str(v: string | null | undefined): string | undefined {
  return v ? v : undefined;
}
