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

/** Parsed /etc/passwd and /etc/group by host path, so that each ExecProcess of a container does
 *  not read and parse them again (issue 15). An entry is used only while the file's identity and
 *  times are what they were (device, inode, size, mtime, ctime), and only for a file that had been
 *  left alone for STABLE_MS before it was read: a write within the same timestamp tick that kept
 *  the size would otherwise go unseen (the "racily clean" case git knows), while any write after
 *  that second moves ctime past the recorded one. */
const parsedFiles = new Map<string, { key: string; entries: unknown[] }>();
const MAX_PARSED_FILES = 256;
const STABLE_MS = 1000;

/** Test hook: how many parsed files are held. */
export function parsedFileCount(): number {
  return parsedFiles.size;
}

/** Reads and parses a file of the container; [] when it does not exist (an image without
 *  /etc/group) or cannot be read. */
function readContainerFile<T>(view: RootView, path: string, parse: (text: string) => T[]): T[] {
  const found = view.stat(path);
  if (!found || !found.stats.isFile()) return [];
  const host = view.hostPath(found.path);
  if (host === undefined) return [];
  const st = found.stats;
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  const hit = parsedFiles.get(host);
  if (hit && hit.key === key) return hit.entries as T[];
  const readAt = Date.now();
  let entries: T[];
  try {
    entries = parse(readFileSync(host, "utf8"));
  } catch {
    return [];
  }
  if (st.ctimeMs < readAt - STABLE_MS && st.mtimeMs < readAt - STABLE_MS) {
    parsedFiles.delete(host);
    if (parsedFiles.size >= MAX_PARSED_FILES) parsedFiles.delete(parsedFiles.keys().next().value!);
    parsedFiles.set(host, { key, entries });
  } else {
    parsedFiles.delete(host);
  }
  return entries;
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
  const passwdEntries = () => (passwd ??= readContainerFile(view, "/etc/passwd", parsePasswd));

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
  const groupEntries = () => (groups ??= readContainerFile(view, "/etc/group", parseGroup));
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
