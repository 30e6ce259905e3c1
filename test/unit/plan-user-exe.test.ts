// User lookup and executable lookup against a temporary rootfs (no root needed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_PATH, lookupExecutable } from "../../src/container/exe-lookup.ts";
import { RootView } from "../../src/container/rootfs-view.ts";
import { SpecError } from "../../src/container/spec-error.ts";
import { parseGroup, parsePasswd, resolveUser } from "../../src/container/user.ts";
import { validateProcess } from "../../src/container/spec-validate.ts";
import { thrownAs } from "../helpers/thrown.ts";

let base: string; // holds rootfs/ and outside/ (what an escaping symlink would reach)
let rootfs: string;
let outside: string;

function file(path: string, text: string, mode = 0o644): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "plan-user-exe-"));
  rootfs = join(base, "rootfs");
  outside = join(base, "outside");
  file(join(rootfs, "etc/passwd"), [
    "root:x:0:0:root:/root:/bin/sh",
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
    "# a comment",
    "broken line",
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh",
    "bob:x:1001:100::/home/bob:/bin/sh",
    "",
  ].join("\n"));
  file(join(rootfs, "etc/group"), [
    "root:x:0:",
    "users:x:100:",
    "alice:x:1000:",
    "wheel:x:10:alice,carol",
    "audio:x:29:bob,alice",
    "staff:x:50:",
  ].join("\n"));
  // Outside the rootfs: a passwd that must never be read, and an executable that must never be found.
  file(join(outside, "etc/passwd"), "mallory:x:666:666::/evil:/bin/sh\n");
  file(join(outside, "bin/evil"), "#!/bin/sh\n", 0o755);

  file(join(rootfs, "bin/busybox"), "\x7fELF", 0o755);
  symlinkSync("busybox", join(rootfs, "bin/sh"));
  symlinkSync("/bin/busybox", join(rootfs, "bin/ls")); // absolute target: relative to the rootfs
  mkdirSync(join(rootfs, "usr/bin"), { recursive: true });
  symlinkSync("../../bin/sh", join(rootfs, "usr/bin/chain1")); // chain: chain1 -> sh -> busybox
  symlinkSync("chain1", join(rootfs, "usr/bin/chain2"));
  symlinkSync("/../../../../outside/bin/evil", join(rootfs, "usr/bin/escape-abs"));
  symlinkSync("../../../outside/bin/evil", join(rootfs, "usr/bin/escape-rel"));
  symlinkSync("loop-b", join(rootfs, "usr/bin/loop-a"));
  symlinkSync("loop-a", join(rootfs, "usr/bin/loop-b"));
  file(join(rootfs, "usr/bin/data.txt"), "not a program", 0o644);
  file(join(rootfs, "usr/local/bin/data.txt"), "still not a program", 0o644);
  file(join(rootfs, "opt/app/run"), "#!/bin/sh\n", 0o750);
  mkdirSync(join(rootfs, "usr/bin/adir"));
  file(join(rootfs, "work/tool"), "#!/bin/sh\n", 0o755);
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

const specError = (f: () => unknown): SpecError => thrownAs(SpecError, f);

describe("passwd/group parsing", () => {
  test("skips comments and malformed lines", () => {
    const p = parsePasswd("root:x:0:0:root:/root:/bin/sh\nbad\nx:x:notanumber:0::/:/bin/sh\n#c:x:1:1::/:/\n");
    expect(p).toEqual([{ name: "root", uid: 0, gid: 0, home: "/root" }]);
    expect(parseGroup("wheel:x:10:a, b\nbad:x\n")).toEqual([{ name: "wheel", gid: 10, members: ["a", "b"] }]);
  });
});

describe("resolveUser", () => {
  const view = () => new RootView(rootfs);
  const cases: [string, Parameters<typeof resolveUser>[1], { uid: number; gid: number; additionalGids: number[]; home: string }][] = [
    ["UID/GID as given, home from passwd", { UID: 1000, GID: 5 }, { uid: 1000, gid: 5, additionalGids: [], home: "/home/alice" }],
    ["UID not in passwd: home /", { UID: 4242, GID: 4242 }, { uid: 4242, gid: 4242, additionalGids: [], home: "/" }],
    ["AdditionalGids kept without a name", { UID: 0, GID: 0, AdditionalGids: [7, 8, 7] }, { uid: 0, gid: 0, additionalGids: [7, 8], home: "/root" }],
    ["name: passwd + group memberships", { Username: "alice" }, { uid: 1000, gid: 1000, additionalGids: [10, 29], home: "/home/alice" }],
    ["numeric uid with entry", { Username: "1001" }, { uid: 1001, gid: 100, additionalGids: [29], home: "/home/bob" }],
    ["numeric uid without entry", { Username: "5000" }, { uid: 5000, gid: 0, additionalGids: [], home: "/" }],
    ["name:group", { Username: "alice:staff" }, { uid: 1000, gid: 50, additionalGids: [], home: "/home/alice" }],
    ["uid:gid", { Username: "1234:5678" }, { uid: 1234, gid: 5678, additionalGids: [], home: "/" }],
    ["name:gid", { Username: "bob:77" }, { uid: 1001, gid: 77, additionalGids: [], home: "/home/bob" }],
    ["name plus spec AdditionalGids", { Username: "alice", AdditionalGids: [29, 300] }, { uid: 1000, gid: 1000, additionalGids: [10, 29, 300], home: "/home/alice" }],
    ["Username wins over UID/GID", { Username: "daemon", UID: 99, GID: 99 }, { uid: 1, gid: 1, additionalGids: [], home: "/usr/sbin" }],
  ];
  for (const [name, user, want] of cases) test(name, () => expect(resolveUser(view(), user)).toEqual(want));

  test("missing user", () => {
    const e = specError(() => resolveUser(view(), { Username: "nobody-here" }));
    expect(e.field).toBe("Process.User.Username");
    expect(e.message).toContain('no user "nobody-here"');
  });
  test("missing group", () => {
    const e = specError(() => resolveUser(view(), { Username: "alice:nogroup" }));
    expect(e.message).toContain('no group "nogroup"');
  });
  test("malformed", () => {
    expect(specError(() => resolveUser(view(), { Username: ":10" })).message).toContain("no user part");
    expect(specError(() => resolveUser(view(), { Username: "alice:" })).message).toContain("empty group part");
  });

  test("a symlinked /etc cannot escape the rootfs", () => {
    const evil = join(base, "evil-rootfs");
    mkdirSync(evil);
    symlinkSync("../../outside/etc", join(evil, "etc")); // relative escape attempt
    try {
      // Without a passwd inside the rootfs, the name cannot be found (never mallory's file).
      expect(specError(() => resolveUser(new RootView(evil), { Username: "mallory" })).message).toContain("no user");
      expect(resolveUser(new RootView(evil), { UID: 666 }).home).toBe("/");
    } finally {
      rmSync(evil, { recursive: true, force: true });
    }
  });
  test("an absolute /etc/passwd link is resolved inside the rootfs", () => {
    const r = join(base, "abs-rootfs");
    file(join(r, "real/passwd"), "zed:x:77:77::/z:/bin/sh\n");
    mkdirSync(join(r, "etc"));
    symlinkSync("/real/passwd", join(r, "etc/passwd"));
    try {
      expect(resolveUser(new RootView(r), { Username: "zed" })).toEqual({ uid: 77, gid: 77, additionalGids: [], home: "/z" });
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });
  test("a bind-mounted passwd is used", () => {
    const src = join(base, "bound-passwd");
    writeFileSync(src, "bound:x:55:56::/b:/bin/sh\n");
    const v = new RootView(rootfs, [{ dest: "/etc/passwd", hostSource: src }]);
    expect(resolveUser(v, { Username: "bound" }).uid).toBe(55);
    expect(specError(() => resolveUser(v, { Username: "alice" })).message).toContain("no user");
  });
});

describe("lookupExecutable", () => {
  const view = () => new RootView(rootfs);
  const env = ["PATH=/usr/local/bin:/usr/bin:/bin"];

  test("absolute path", () => expect(lookupExecutable(view(), "/bin/busybox", env)).toBe("/bin/busybox"));
  test("absolute path through a symlink keeps the name", () => expect(lookupExecutable(view(), "/bin/sh", env)).toBe("/bin/sh"));
  test("PATH search", () => expect(lookupExecutable(view(), "sh", env)).toBe("/bin/sh"));
  test("PATH order matters", () => {
    expect(lookupExecutable(view(), "ls", ["PATH=/bin:/usr/bin"])).toBe("/bin/ls");
  });
  test("absolute symlink target is inside the rootfs", () => expect(lookupExecutable(view(), "ls", env)).toBe("/bin/ls"));
  test("symlink chain", () => expect(lookupExecutable(view(), "chain2", env)).toBe("/usr/bin/chain2"));
  test("default PATH when Env has none", () => {
    expect(lookupExecutable(view(), "run", ["PATH=/opt/app"])).toBe("/opt/app/run");
    const e = specError(() => lookupExecutable(view(), "run", []));
    expect(e.message).toContain(`not found in PATH (${DEFAULT_PATH})`);
  });
  test("relative name with a slash is relative to cwd", () => {
    expect(lookupExecutable(view(), "./tool", env, { cwd: "/work" })).toBe("/work/tool");
    expect(lookupExecutable(view(), "app/run", env, { cwd: "/opt" })).toBe("/opt/app/run");
  });
  test("not found names the PATH", () => {
    const e = specError(() => lookupExecutable(view(), "nope", env));
    expect(e.field).toBe("Process.Args[0]");
    expect(e.message).toBe('Process.Args[0] "nope": not found in PATH (/usr/local/bin:/usr/bin:/bin)');
  });
  test("missing absolute path", () => {
    expect(specError(() => lookupExecutable(view(), "/bin/nope", env)).message).toContain("no such file");
  });
  test("non-executable file", () => {
    expect(specError(() => lookupExecutable(view(), "/usr/bin/data.txt", env)).message).toContain("not an executable");
    expect(specError(() => lookupExecutable(view(), "data.txt", env)).message).toContain(
      "found /usr/local/bin/data.txt in PATH but it is not executable",
    );
  });
  test("directory", () => {
    expect(specError(() => lookupExecutable(view(), "/usr/bin/adir", env)).message).toContain("is a directory");
    expect(specError(() => lookupExecutable(view(), "adir", env)).message).toContain("not found in PATH");
  });
  test("escaping symlinks do not reach the host", () => {
    expect(specError(() => lookupExecutable(view(), "escape-abs", env)).message).toContain("not found");
    expect(specError(() => lookupExecutable(view(), "escape-rel", env)).message).toContain("not found");
    expect(specError(() => lookupExecutable(view(), "/../outside/bin/evil", env)).message).toContain("no such file");
    expect(specError(() => lookupExecutable(view(), "../../outside/bin/evil", env, { cwd: "/work" })).message).toContain("no such file");
  });
  test("symlink loop", () => {
    expect(specError(() => lookupExecutable(view(), "/usr/bin/loop-a", env)).message).toContain("too many levels");
  });
  test("executable on a bind mount is found where the container will see it", () => {
    const vol = join(base, "volume");
    file(join(vol, "vtool"), "#!/bin/sh\n", 0o755);
    const v = new RootView(rootfs, [{ dest: "/mnt/vol", hostSource: vol }]);
    expect(lookupExecutable(v, "/mnt/vol/vtool", env)).toBe("/mnt/vol/vtool");
    expect(specError(() => lookupExecutable(view(), "/mnt/vol/vtool", env)).message).toContain("no such file");
  });
  test("a tmpfs mount hides the rootfs below it", () => {
    const v = new RootView(rootfs, [{ dest: "/opt" }]);
    expect(specError(() => lookupExecutable(v, "/opt/app/run", env)).message).toContain("no such file");
  });
  test("empty command", () => {
    expect(specError(() => lookupExecutable(view(), "", env)).message).toBe("Process.Args[0] is empty");
  });
});

// Issue 14 #6: 4294967295 is (uid_t)-1, "leave unchanged" to setresuid/setresgid, so a workload
// asking for it would keep running as root.
describe("uid/gid 4294967295 is refused", () => {
  const view = () => new RootView(rootfs);
  const MINUS_ONE = 0xffff_ffff;
  test("in Process.User UID, GID and AdditionalGids (validateProcess)", () => {
    for (const user of [{ UID: MINUS_ONE }, { UID: 0, GID: MINUS_ONE }, { UID: 0, GID: 0, AdditionalGids: [1, MINUS_ONE] }]) {
      const e = specError(() => validateProcess({ Args: ["sh"], Cwd: "/", User: user }));
      expect(e.message).toContain("4294967295");
    }
  });
  test("as a numeric Username, user or group part", () => {
    for (const Username of ["4294967295", "0:4294967295", "alice:4294967295"]) {
      expect(specError(() => resolveUser(view(), { Username })).message).toContain("4294967295");
    }
  });
  test("from the container's /etc/passwd", () => {
    const r = join(base, "minus-one-rootfs");
    file(join(r, "etc/passwd"), "ghost:x:4294967295:4294967295::/g:/bin/sh\n");
    try {
      const e = specError(() => resolveUser(new RootView(r), { Username: "ghost" }));
      expect(e.message).toMatch(/ghost|4294967295/);
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });
});
