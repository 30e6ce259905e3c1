// Process.User -> uid, gid, supplementary groups and home directory, looked up in the
// CONTAINER's /etc/passwd and /etc/group (through a RootView, so symlinks cannot lead out of the
// rootfs). Semantics follow runc's GetExecUser:
//   - UID/GID (Username empty): used as given; AdditionalGids as given (Kata does not consult
//     /etc/group here); the home directory comes from the passwd entry of UID, else "/".
//   - Username "name" or "uid": the passwd entry gives uid, gid and home; supplementary groups are
//     the /etc/group entries listing that user name. A numeric uid without an entry is used as is
//     with gid 0.
//   - Username "user:group": the group (name or gid, looked up in /etc/group when a name) becomes
//     the primary gid and /etc/group memberships are not added.
// AdditionalGids from the spec are always added (after the looked-up ones, without duplicates).
import { readFileSync } from "node:fs";
import type { IUser } from "./oci-types.ts";
import type { RootView } from "./rootfs-view.ts";
import { SpecError, q } from "./spec-error.ts";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Home directory for HOME when the environment lacks it. */
  home: string;
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** 4294967295 is (uid_t)-1, "leave unchanged" to setresuid/setresgid: never an id to run as. */
const ID_MAX = 0xffff_fffe;
const UNCHANGED_ID = 0xffff_ffff;

function parseId(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= ID_MAX ? n : undefined;
}

/** passwd(5) lines; malformed lines are skipped, like libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 7) continue;
    const uid = parseId(f[2]!);
    const gid = parseId(f[3]!);
    if (uid === undefined || gid === undefined) continue;
    out.push({ name: f[0]!, uid, gid, home: f[5]! });
  }
  return out;
}

/** group(5) lines; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 4) continue;
    const gid = parseId(f[2]!);
    if (gid === undefined) continue;
    const members = f[3]!.split(",").map((m) => m.trim()).filter((m) => m !== "");
    out.push({ name: f[0]!, gid, members });
  }
  return out;
}

/** Reads a file of the container, or "" when it does not exist (an image without /etc/group). */
function readContainerFile(view: RootView, path: string): string {
  const found = view.stat(path);
  if (!found || !found.stats.isFile()) return "";
  const host = view.hostPath(found.path);
  if (host === undefined) return "";
  try {
    return readFileSync(host, "utf8");
  } catch {
    return "";
  }
}

function uniq(ids: number[]): number[] {
  return [...new Set(ids)];
}

export function resolveUser(view: RootView, user: IUser | null | undefined, field = "Process.User"): ResolvedUser {
  const r = lookupUser(view, user, field);
  for (const id of [r.uid, r.gid, ...r.additionalGids]) {
    if (id === UNCHANGED_ID || !Number.isInteger(id) || id < 0 || id > UNCHANGED_ID) {
      throw new SpecError(field, `id ${id} is not usable (4294967295 means "unchanged" to the kernel)`);
    }
  }
  return r;
}

function lookupUser(view: RootView, user: IUser | null | undefined, field: string): ResolvedUser {
  const extra = (user?.AdditionalGids ?? []).map(Number);
  const username = (user?.Username ?? "").trim();
  let passwd: PasswdEntry[] | undefined;
  const passwdEntries = () => (passwd ??= parsePasswd(readContainerFile(view, "/etc/passwd")));

  if (username === "") {
    const uid = Number(user?.UID ?? 0);
    const gid = Number(user?.GID ?? 0);
    const entry = passwdEntries().find((p) => p.uid === uid);
    return { uid, gid, additionalGids: uniq(extra), home: entry?.home || "/" };
  }

  const colon = username.indexOf(":");
  const userPart = colon < 0 ? username : username.slice(0, colon);
  const groupPart = colon < 0 ? "" : username.slice(colon + 1);
  const fieldName = `${field}.Username`;
  if (userPart === "") throw new SpecError(fieldName, `${q(username)} has no user part`);
  if (colon >= 0 && groupPart === "") throw new SpecError(fieldName, `${q(username)} has an empty group part`);

  const numericUid = parseId(userPart);
  const entry = passwdEntries().find((p) => (numericUid !== undefined ? p.uid === numericUid : p.name === userPart));
  if (userPart === String(UNCHANGED_ID) || groupPart === String(UNCHANGED_ID)) {
    throw new SpecError(fieldName, `${q(username)}: 4294967295 is not a usable id ("unchanged" to the kernel)`);
  }
  if (!entry && numericUid === undefined) {
    throw new SpecError(fieldName, `${q(username)}: no user ${q(userPart)} in the container's /etc/passwd`);
  }
  const uid = entry ? entry.uid : numericUid!;
  let gid = entry ? entry.gid : 0;
  const home = entry?.home || "/";
  let looked: number[] = [];

  let groups: GroupEntry[] | undefined;
  const groupEntries = () => (groups ??= parseGroup(readContainerFile(view, "/etc/group")));
  if (groupPart !== "") {
    const numericGid = parseId(groupPart);
    if (numericGid !== undefined) {
      gid = numericGid;
    } else {
      const g = groupEntries().find((e) => e.name === groupPart);
      if (!g) throw new SpecError(fieldName, `${q(username)}: no group ${q(groupPart)} in the container's /etc/group`);
      gid = g.gid;
    }
  } else if (entry) {
    looked = groupEntries()
      .filter((g) => g.members.includes(entry.name))
      .map((g) => g.gid);
  }
  return { uid, gid, additionalGids: uniq([...looked, ...extra]), home };
}
