// The filesystem half of a container plan: Spec.Mounts -> MountSteps (with cgroup mounts
// expanded), /dev device nodes and symlinks. Mirrors rustjail's init_rootfs/mount_from:
//   - targets are resolved inside the rootfs (symlinks followed within it, like secure_join), so
//     the launcher never mounts through a link that points out of the container;
//   - bind sources are guest paths; a relative source is resolved against the bundle directory
//     (Kata chdirs to /run/kata-containers/<cid> before mounting, runc uses the bundle too) and
//     canonicalised; a non-directory source makes the target a file;
//   - bind mounts get a second MS_REMOUNT pass when they carry flags such as ro/nosuid;
//   - "/dev" is never mounted read-only (device nodes are created in it afterwards);
//   - when "/dev" is a bind mount from the guest, no device nodes or symlinks are created.
import { existsSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve as resolveHostPath } from "node:path";
import type { DeviceStep, MountStep } from "../sys/launch-plan.ts";
import { i64 } from "./numbers.ts";
import type { CgroupMountView } from "../cgroups/manager.ts";
import type { ILinuxDevice, IMount } from "./oci-types.ts";
import { MS, bindRemountFlags, parseMountOptions } from "./mount-options.ts";
import { RootView, cleanContainerPath } from "./rootfs-view.ts";
import { isBindMount } from "./spec-validate.ts";
import { SpecError, q } from "./spec-error.ts";

/** How the container's cgroups look from the guest, for mounts of type "cgroup" (the cgroup
 *  manager knows: CgroupManager.mountView()). */
export type CgroupView = CgroupMountView;

/** Guess when the caller did not say: a unified hierarchy has cgroup.controllers at its root. */
export function detectCgroupView(): CgroupView {
  return existsSync("/sys/fs/cgroup/cgroup.controllers") ? { version: 2 } : { version: 1, controllers: [] };
}

export interface MountPlan {
  mounts: MountStep[];
  /** True when "/dev" is bind-mounted from the guest: no device nodes, no /dev symlinks. */
  devFromGuest: boolean;
}

function joinTarget(dir: string, name: string): string {
  return cleanContainerPath(`${dir}/${name}`);
}

function planCgroupMount(target: string, flags: number, propagation: number, cgroups: CgroupView): MountStep[] {
  const base = flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
  if (cgroups.version === 2) {
    return [{ source: "cgroup", target, fstype: "cgroup2", flags: base, data: "", propagation, remountFlags: 0, targetIsFile: false }];
  }
  // cgroup v1 (what Kata does): a tmpfs, then the container's cgroup of every hierarchy bound
  // below it. Co-mounted hierarchies ("cpu,cpuacct") are bound under each single name as well
  // (runc and Kata use symlinks there; binds need no ordering with the plan's symlinks).
  const steps: MountStep[] = [
    { source: "tmpfs", target, fstype: "tmpfs", flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, data: "mode=755", propagation, remountFlags: 0, targetIsFile: false },
  ];
  for (const c of cgroups.controllers) {
    const names = [c.name, ...(c.name.includes(",") ? c.name.split(",") : [])];
    // The systemd hierarchy stays writable: systemd inside the container needs it.
    const own = c.name.includes("systemd") ? base & ~MS.RDONLY : base;
    const bindFlags = own | MS.BIND | MS.REC;
    for (const n of names) {
      steps.push({
        source: c.hostPath, target: joinTarget(target, n), fstype: "bind", flags: bindFlags, data: "",
        propagation: 0, remountFlags: bindRemountFlags(bindFlags), targetIsFile: false,
      });
    }
  }
  if (flags & MS.RDONLY) {
    // Made read-only last, so the mount points above could still be created in the tmpfs.
    // A step whose flags contain MS_REMOUNT only changes the flags of the mount at `target`.
    steps.push({
      source: target, target, fstype: "", flags: MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC,
      data: "", propagation: 0, remountFlags: 0, targetIsFile: false,
    });
  }
  return steps;
}

function bindSource(m: IMount, index: number, bundlePath: string): { path: string; isDir: boolean } {
  const raw = m.source ?? "";
  const field = `Spec.Mounts[${index}].source`;
  if (raw === "") throw new SpecError(field, "is required for a bind mount");
  const abs = isAbsolute(raw) ? raw : resolveHostPath(bundlePath, raw);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    throw new SpecError(field, `${q(raw)} does not exist in the guest${abs !== raw ? ` (resolved to ${abs})` : ""}`);
  }
  return { path: real, isDir: statSync(real).isDirectory() };
}

/**
 * Plans the mounts in spec order. `view` starts as the bare rootfs and learns every mount, so
 * later targets (and the user/executable lookups done afterwards) see what the container will.
 */
export function planMounts(mounts: readonly IMount[], view: RootView, opts: { bundlePath: string; cgroups: CgroupView }): MountPlan {
  const out: MountStep[] = [];
  let devFromGuest = false;
  mounts.forEach((m, i) => {
    const type = m.type ?? "";
    const parsed = parseMountOptions(m.options);
    let flags = parsed.flags;
    const target = view.resolve(cleanContainerPath(m.destination ?? ""));

    if (type === "cgroup") {
      out.push(...planCgroupMount(target, flags, parsed.propagation, opts.cgroups));
      view.addMount({ dest: target });
      return;
    }
    if (isBindMount(m)) {
      flags |= MS.BIND;
      if (target === "/dev") devFromGuest = true;
      const src = bindSource(m, i, opts.bundlePath);
      out.push({
        source: src.path, target, fstype: "bind", flags, data: parsed.data, propagation: parsed.propagation,
        remountFlags: bindRemountFlags(flags), targetIsFile: !src.isDir,
      });
      view.addMount({ dest: target, hostSource: src.path });
      return;
    }
    if (target === "/dev") flags &= ~MS.RDONLY;
    out.push({
      source: m.source || type, target, fstype: type, flags, data: parsed.data, propagation: parsed.propagation,
      remountFlags: 0, targetIsFile: false,
    });
    view.addMount({ dest: target });
  });
  return { mounts: out, devFromGuest };
}

/** Kata's and runc's default device nodes (owner root, mode 0666). */
export const DEFAULT_DEVICES: readonly DeviceStep[] = [
  { path: "/dev/null", type: "c", major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/zero", type: "c", major: 1, minor: 5, mode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/full", type: "c", major: 1, minor: 7, mode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/tty", type: "c", major: 5, minor: 0, mode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/urandom", type: "c", major: 1, minor: 9, mode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/random", type: "c", major: 1, minor: 8, mode: 0o666, uid: 0, gid: 0 },
];

/** Default devices plus Linux.Devices; a spec device replaces a default one at the same path. */
export function planDevices(devices: readonly ILinuxDevice[]): DeviceStep[] {
  const byPath = new Map<string, DeviceStep>(DEFAULT_DEVICES.map((d) => [d.path, { ...d }]));
  for (const d of devices) {
    const type = d.Type === "u" ? "c" : (d.Type as "c" | "b" | "p");
    const path = cleanContainerPath(d.Path ?? "");
    // The proto cannot tell 0 from unset, and a device nobody may open is never what was meant.
    const mode = (d.FileMode ?? 0) & 0o7777 || 0o666;
    byPath.set(path, {
      path, type, major: type === "p" ? 0 : i64(d.Major), minor: type === "p" ? 0 : i64(d.Minor),
      mode, uid: Number(d.UID ?? 0), gid: Number(d.GID ?? 0),
    });
  }
  return [...byPath.values()];
}

/**
 * /dev symlinks as [target, linkPath]. /dev/ptmx must replace whatever the rootfs has there (the
 * launcher unlinks first). Kata links /dev/kcore (not runc's /dev/core) when /proc/kcore exists.
 */
export function planDevSymlinks(kcoreExists = existsSync("/proc/kcore")): [string, string][] {
  const links: [string, string][] = [
    ["/proc/self/fd", "/dev/fd"],
    ["/proc/self/fd/0", "/dev/stdin"],
    ["/proc/self/fd/1", "/dev/stdout"],
    ["/proc/self/fd/2", "/dev/stderr"],
  ];
  if (kcoreExists) links.push(["/proc/kcore", "/dev/kcore"]);
  links.push(["pts/ptmx", "/dev/ptmx"]);
  return links;
}
