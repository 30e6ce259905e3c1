// OCI mount options -> mount(2) flags, propagation and the filesystem data string, with the same
// table as Kata's rustjail and runc: flag options set or clear MS_* bits (last one wins),
// propagation options are collected separately (applied by a second mount call), anything else
// goes into the data string for the filesystem ("mode=755", "size=65536k", ...).

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

/** [clear?, flag]: `clear` options remove the flag ("rw" clears MS_RDONLY). */
const FLAG_OPTIONS: Readonly<Record<string, readonly [boolean, number]>> = {
  defaults: [false, 0],
  ro: [false, MS.RDONLY],
  rw: [true, MS.RDONLY],
  suid: [true, MS.NOSUID],
  nosuid: [false, MS.NOSUID],
  dev: [true, MS.NODEV],
  nodev: [false, MS.NODEV],
  exec: [true, MS.NOEXEC],
  noexec: [false, MS.NOEXEC],
  sync: [false, MS.SYNCHRONOUS],
  async: [true, MS.SYNCHRONOUS],
  dirsync: [false, MS.DIRSYNC],
  remount: [false, MS.REMOUNT],
  mand: [false, MS.MANDLOCK],
  nomand: [true, MS.MANDLOCK],
  atime: [true, MS.NOATIME],
  noatime: [false, MS.NOATIME],
  diratime: [true, MS.NODIRATIME],
  nodiratime: [false, MS.NODIRATIME],
  bind: [false, MS.BIND],
  rbind: [false, MS.BIND | MS.REC],
  relatime: [false, MS.RELATIME],
  norelatime: [true, MS.RELATIME],
  strictatime: [false, MS.STRICTATIME],
  nostrictatime: [true, MS.STRICTATIME],
  lazytime: [false, MS.LAZYTIME],
  nolazytime: [true, MS.LAZYTIME],
  symfollow: [true, MS.NOSYMFOLLOW],
  nosymfollow: [false, MS.NOSYMFOLLOW],
};

export const PROPAGATION_OPTIONS: Readonly<Record<string, number>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/**
 * Options that only mean something to runc itself; passing them to the kernel as data would make
 * the mount fail with EINVAL, so they are dropped.
 */
const RUNTIME_ONLY_OPTIONS = new Set(["tmpcopyup", "notmpcopyup"]);

export interface ParsedMountOptions {
  /** MS_* flags for the mount call itself. */
  flags: number;
  /** MS_PRIVATE/SLAVE/SHARED/UNBINDABLE (| MS_REC) for the follow-up propagation call; 0 = none. */
  propagation: number;
  /** Comma-joined filesystem options. */
  data: string;
}

export function parseMountOptions(options: readonly string[] | null | undefined): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const raw of options ?? []) {
    const o = raw.trim();
    if (o === "") continue;
    const f = Object.hasOwn(FLAG_OPTIONS, o) ? FLAG_OPTIONS[o] : undefined;
    if (f) {
      const [clear, bit] = f;
      flags = clear ? flags & ~bit : flags | bit;
    } else if (Object.hasOwn(PROPAGATION_OPTIONS, o)) {
      propagation |= PROPAGATION_OPTIONS[o]!;
    } else if (!RUNTIME_ONLY_OPTIONS.has(o)) {
      data.push(o);
    }
  }
  return { flags, propagation, data: data.join(",") };
}

/**
 * Flags that a bind mount ignores on the first call and that need a MS_REMOUNT|MS_BIND pass to
 * take effect (ro, nosuid, nodev, noexec, atime flags ...): everything except the structural bits.
 */
const BIND_STRUCTURAL = MS.BIND | MS.REC | MS.REMOUNT | MS.PRIVATE | MS.SHARED | MS.SLAVE | MS.UNBINDABLE;

/** remountFlags of a MountStep: 0 when the mount is not a bind or needs no second pass. */
export function bindRemountFlags(flags: number): number {
  if ((flags & MS.BIND) === 0) return 0;
  if ((flags & ~BIND_STRUCTURAL) === 0) return 0;
  return (flags & ~MS.REC) | MS.REMOUNT | MS.BIND;
}

/** Linux.RootfsPropagation -> flags for "/" (Kata and runc default: MS_SLAVE|MS_REC). */
export function rootPropagationFlags(name: string | null | undefined): number | undefined {
  if (!name) return MS.SLAVE | MS.REC;
  if (!Object.hasOwn(PROPAGATION_OPTIONS, name)) return undefined;
  // "/" is always made recursive, as in Kata (MS_REC | the named mode).
  return PROPAGATION_OPTIONS[name]! | MS.REC;
}

/** Human-readable flag names, for logs and test failure messages. */
export function flagNames(flags: number): string[] {
  return Object.entries(MS)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => `MS_${name}`);
}
