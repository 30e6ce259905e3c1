// The OCI messages of Kata's oci.proto (package grpc) as the rest of src/container uses them:
// aliases of the protobufjs interfaces generated in src/gen (--keep-case, so the proto's own
// CamelCase field names; every field optional and nullable). A decoded grpc.Spec, a plain object
// for fromObject(), or a hand-written literal are all accepted.
import type { grpc } from "../gen/index.ts";

export type ISpec = grpc.ISpec;
export type IProcess = grpc.IProcess;
export type IBox = grpc.IBox;
export type IUser = grpc.IUser;
export type ILinuxCapabilities = grpc.ILinuxCapabilities;
export type IPOSIXRlimit = grpc.IPOSIXRlimit;
export type IMount = grpc.IMount;
export type IRoot = grpc.IRoot;
export type IHook = grpc.IHook;
export type IHooks = grpc.IHooks;
export type ILinux = grpc.ILinux;
export type ILinuxIDMapping = grpc.ILinuxIDMapping;
export type ILinuxNamespace = grpc.ILinuxNamespace;
export type ILinuxDevice = grpc.ILinuxDevice;
export type ILinuxResources = grpc.ILinuxResources;
export type ILinuxSeccomp = grpc.ILinuxSeccomp;

/**
 * A 64-bit proto field at runtime. src/gen makes them plain numbers, but a spec that did not come
 * through the generated code (JSON, another generator's Long) may carry bigint, a decimal string
 * or a Long; numbers.ts reads all of them.
 */
export type Int64 = number | bigint | string | { toString(): string };
