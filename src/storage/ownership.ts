// Kata's set_ownership / recursive_ownership_change for Storage.fs_group: every file of the
// volume gets the group and rw (ro: r) group bits, directories also x and setgid. Symlinks are
// never followed or changed. OnRootMismatch skips the walk when the root already matches.
import { chmodSync, lchownSync, lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const RW_MASK = 0o660;
const RO_MASK = 0o440;
const EXEC_MASK = 0o110;
const MODE_SETGID = 0o2000;

export interface FsGroup {
  groupId: number;
  changePolicy: "always" | "on-root-mismatch";
}

function walk(path: string, gid: number, readOnly: boolean): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  let mask = readOnly ? RO_MASK : RW_MASK;
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) walk(join(path, name), gid, readOnly);
    mask |= EXEC_MASK | MODE_SETGID;
  }
  lchownSync(path, -1, gid);
  chmodSync(path, (st.mode & 0o7777) | mask);
}

export function setOwnership(mountPoint: string, g: FsGroup, readOnly: boolean): void {
  const st = statSync(mountPoint);
  if (g.changePolicy === "on-root-mismatch" && st.gid === g.groupId) {
    const mask = (readOnly ? RO_MASK : RW_MASK) | EXEC_MASK;
    if ((st.mode & mask) === mask && (st.mode & MODE_SETGID) !== 0) return;
  }
  walk(mountPoint, g.groupId, readOnly);
}
