// CopyFile never follows a symlink, in any branch (issue 14 #5): a link made by one CopyFile must
// not lead a later directory, file or link CopyFile of the same path (or below it) outside the base.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "../../src/errors.ts";
import { copyFile } from "../../src/guest/copy-file.ts";

let dir: string;
let base: string;
let outside: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "copyfile-links-"));
  base = join(dir, "shared/containers");
  outside = join(dir, "outside");
  mkdirSync(outside, { mode: 0o755 });
  writeFileSync(join(outside, "secret"), "keep me");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const uid = process.getuid!(), gid = process.getgid!();
const req = (path: string, data: string, file_mode: number, extra: object = {}) => ({
  path, file_size: Buffer.byteLength(data), file_mode, dir_mode: 0o750, uid, gid, offset: 0, data: Buffer.from(data), ...extra,
});
const link = (path: string, target: string) => copyFile(req(path, target, 0o120777), base);

function kindThrown(f: () => void): string {
  try {
    f();
  } catch (e) {
    return kindOf(e);
  }
  return "no error";
}

test("a directory CopyFile over a link made by CopyFile does not chown or chmod its target", () => {
  link(`${base}/d`, outside);
  const before = statSync(outside);
  const k = kindThrown(() => copyFile(req(`${base}/d`, "", 0o040777, { uid: 4321, gid: 4321 }), base));
  expect(k).not.toBe("no error");
  expect(k).not.toBe("internal");
  const after = statSync(outside);
  expect([after.uid, after.gid, after.mode]).toEqual([before.uid, before.gid, before.mode]);
  expect(lstatSync(`${base}/d`).isSymbolicLink()).toBe(true);
});

test("a file CopyFile below a dangling link to outside creates nothing outside", () => {
  link(`${base}/dl`, join(outside, "newdir"));
  const k = kindThrown(() => copyFile(req(`${base}/dl/file`, "x", 0o100644), base));
  expect(k).toBe("invalid");
  expect(existsSync(join(outside, "newdir"))).toBe(false);
});

test("a directory CopyFile below or at a dangling link creates nothing outside", () => {
  link(`${base}/dl`, join(outside, "newdir"));
  expect(kindThrown(() => copyFile(req(`${base}/dl/sub`, "", 0o040755), base))).toBe("invalid");
  expect(kindThrown(() => copyFile(req(`${base}/dl`, "", 0o040755), base))).not.toBe("internal");
  expect(existsSync(join(outside, "newdir"))).toBe(false);
});

test("a file CopyFile onto a link replaces the link, never writes through it", () => {
  link(`${base}/f`, join(outside, "secret"));
  copyFile(req(`${base}/f`, "new", 0o100600, { uid: 4321, gid: 4321 }), base);
  expect(readFileSync(join(outside, "secret"), "utf8")).toBe("keep me");
  expect(statSync(join(outside, "secret")).uid).toBe(uid);
  expect(lstatSync(`${base}/f`).isFile()).toBe(true);
});

test("a link CopyFile onto an existing directory answers a caller error, not INTERNAL", () => {
  copyFile(req(`${base}/dir`, "", 0o040755), base);
  copyFile(req(`${base}/dir/x`, "x", 0o100644), base);
  expect(kindThrown(() => link(`${base}/dir`, outside))).toBe("exists");
  expect(readFileSync(`${base}/dir/x`, "utf8")).toBe("x");
});

test("a directory CopyFile onto an existing file answers a caller error", () => {
  copyFile(req(`${base}/file`, "x", 0o100644), base);
  expect(kindThrown(() => copyFile(req(`${base}/file`, "", 0o040755), base))).toBe("exists");
});
