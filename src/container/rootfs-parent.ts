// The mount a container's rootfs lives on, when its propagation is shared (as "/" is under
// systemd). The launcher makes it private inside the container's new mount namespace before it
// binds the rootfs: pivot_root refuses a new root whose parent is shared, and with a shared
// parent every mount the launcher makes below the rootfs would also appear in the agent's
// namespace. runc and Kata (rustjail mount.rs rootfs_parent_mount_private) do the same.
import { ownMountTable } from "../sys/own-mounts.ts";
import { mountContaining } from "../sys/mountinfo.ts";

/** The mount point holding `rootfs` (a real path) when it is shared; undefined otherwise. */
export function sharedMountOf(rootfs: string): string | undefined {
  const m = mountContaining(ownMountTable(), rootfs);
  return m && m.optional.some((f) => f.startsWith("shared:")) ? m.mountPoint : undefined;
}
