// OCI namespace type names ("network", "mount", ...) <-> the launcher's NamespaceKind and the
// file names under /proc/<pid>/ns/.
import type { NamespaceKind } from "../sys/launch-plan.ts";

const OCI_TO_KIND: Readonly<Record<string, NamespaceKind>> = {
  pid: "pid", network: "net", mount: "mount", ipc: "ipc", uts: "uts", user: "user", cgroup: "cgroup",
};

/** OCI types we know of but cannot provide ("time" needs clone3 support in the launcher). */
export const UNSUPPORTED_OCI_NAMESPACES: readonly string[] = ["time"];

export function namespaceKind(ociType: string): NamespaceKind | undefined {
  return Object.hasOwn(OCI_TO_KIND, ociType) ? OCI_TO_KIND[ociType] : undefined;
}

export const OCI_NAMESPACE_TYPES: readonly string[] = Object.keys(OCI_TO_KIND);

const PROC_NS_FILE: Readonly<Record<NamespaceKind, string>> = {
  pid: "pid", net: "net", mount: "mnt", ipc: "ipc", uts: "uts", user: "user", cgroup: "cgroup",
};

/** /proc/<pid>/ns/<file> of a process's namespace of this kind. */
export function procNamespacePath(pid: number, kind: NamespaceKind): string {
  return `/proc/${pid}/ns/${PROC_NS_FILE[kind]}`;
}
