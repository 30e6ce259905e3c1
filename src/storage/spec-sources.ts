// The paths a container spec takes from the guest — its rootfs and the sources of its bind
// mounts — must exist before the container is planned. The runtime rewrote them to paths that
// storages provide (the shared filesystem, the sandbox's shm, ephemeral/local/watchable volumes);
// when one is missing, the status names the mount and the storage that should have provided it.
import { existsSync } from "node:fs";
import { invalid } from "../errors.ts";
import type { StorageTable } from "./table.ts";
import { KATA_RUN, SANDBOX_DIR, SHARED_DIR, WATCHABLE_DIR } from "./paths.ts";

interface SpecLike {
  Root?: { Path?: string | null } | null;
  Mounts?: ({ destination?: string | null; source?: string | null; type?: string | null; options?: string[] | null } | null)[] | null;
}

/** Which storage a missing guest path should have come from, in words. */
export function expectedProvider(path: string, table: StorageTable): string {
  if (path.startsWith(`${WATCHABLE_DIR}/`)) return `it should come from a watchable-bind storage with mount_point ${path}, which this container's storages do not have`;
  const holder = table.holderOf(path);
  if (holder) return `storage ${holder.mountPoint} (driver ${holder.driver}) is mounted but does not contain it`;
  if (path === SHARED_DIR || path.startsWith(`${SHARED_DIR}/`)) {
    return `it should come from the shared filesystem storage (driver virtio-fs, source kataShared) at ${SHARED_DIR}/, which is not mounted`;
  }
  if (path.startsWith(`${SANDBOX_DIR}/shm`)) return `it should come from the sandbox's shm storage (driver ephemeral) at ${SANDBOX_DIR}/shm, which CreateSandbox did not get`;
  if (path.startsWith(`${SANDBOX_DIR}/`)) return `it should come from a sandbox or ephemeral storage below ${SANDBOX_DIR}/, which the sandbox does not have`;
  if (path.startsWith(`${KATA_RUN}/`)) return `no storage of this sandbox provides a path below ${KATA_RUN}/ there`;
  return "it is not a path any storage provides";
}

function isBind(m: { type?: string | null; options?: string[] | null }): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

export function checkSpecSources(spec: SpecLike, table: StorageTable): void {
  const root = spec.Root?.Path ?? "";
  if (root.startsWith("/") && !existsSync(root)) {
    throw invalid(`Spec.Root.Path ${JSON.stringify(root)}: the container rootfs does not exist in the guest; ${expectedProvider(root, table)}`);
  }
  (spec.Mounts ?? []).forEach((m, i) => {
    if (!m || !isBind(m)) return;
    const src = m.source ?? "";
    if (!src.startsWith("/") || existsSync(src)) return;
    throw invalid(`Spec.Mounts[${i}] (destination ${m.destination ?? ""}): source ${JSON.stringify(src)} does not exist in the guest; ${expectedProvider(src, table)}`);
  });
}

/** Mount points of the table's storages that the spec's bind sources lie in (they must not go away while the container uses them). */
export function storagesUsedBy(spec: SpecLike, table: StorageTable): string[] {
  const out = new Set<string>();
  for (const m of spec.Mounts ?? []) {
    if (!m || !isBind(m) || !m.source) continue;
    const h = table.holderOf(m.source);
    if (h) out.add(h.mountPoint);
  }
  const root = spec.Root?.Path;
  if (root) {
    const h = table.holderOf(root);
    if (h) out.add(h.mountPoint);
  }
  return [...out];
}
