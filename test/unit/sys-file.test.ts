// src/sys/file.ts: the libc file reads and stale-socket removal the start-up path uses instead of
// node:fs.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTextFile, removeStaleSocket } from "../../src/sys/file.ts";
import { SysError } from "../../src/sys/errno.ts";
import { thrownAs } from "../helpers/thrown.ts";

const dir = mkdtempSync(join(tmpdir(), "sys-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const thrown = (f: () => unknown): SysError => thrownAs(SysError, f);

describe("readTextFile", () => {
  test("reads UTF-8 text, also across the 64 KiB read size", () => {
    const small = join(dir, "small.toml");
    writeFileSync(small, 'server_addr = "vsock://-1:1024" # é\n');
    expect(readTextFile(small)).toBe('server_addr = "vsock://-1:1024" # é\n');
    const big = join(dir, "big.txt");
    // 200 KiB with a two-byte character straddling the first chunk boundary.
    const text = "a".repeat(65535) + "é" + "b".repeat(200 * 1024);
    writeFileSync(big, text);
    expect(readTextFile(big)).toBe(text);
    writeFileSync(join(dir, "empty"), "");
    expect(readTextFile(join(dir, "empty"))).toBe("");
  });

  test("paths are passed to the kernel as UTF-8 (cstr)", () => {
    const path = join(dir, "é-☃.toml");
    writeFileSync(path, "x = 1\n");
    expect(readTextFile(path)).toBe("x = 1\n");
  });

  test("reads /proc files (size 0 in stat) completely", () => {
    const text = readTextFile("/proc/self/mountinfo");
    expect(text.split("\n").length).toBeGreaterThan(2);
    expect(text.endsWith("\n")).toBe(true);
  });

  test("errors carry the errno name as code, like node:fs", () => {
    expect(thrown(() => readTextFile(join(dir, "missing"))).code).toBe("ENOENT");
    expect(thrown(() => readTextFile(dir)).code).toBe("EISDIR");
  });

  test("stops at the limit instead of growing without bound", () => {
    const e = thrown(() => readTextFile("/dev/zero", 1 << 20));
    expect(e.code).toBe("EFBIG");
    expect(e.message).toContain("/dev/zero");
  });
});

describe("removeStaleSocket", () => {
  test("removes a unix socket file (a previous agent's)", () => {
    const path = join(dir, "old.sock");
    const l = Bun.listen({ unix: path, socket: { data() {} } });
    try {
      expect(existsSync(path)).toBe(true);
      removeStaleSocket(path);
      expect(existsSync(path)).toBe(false);
    } finally {
      l.stop(true);
    }
  });

  test("leaves a regular file, a symlink to a socket and a missing path alone", () => {
    const file = join(dir, "not-a-socket");
    writeFileSync(file, "keep");
    removeStaleSocket(file);
    expect(readTextFile(file)).toBe("keep");
    const sock = join(dir, "target.sock");
    const l = Bun.listen({ unix: sock, socket: { data() {} } });
    const link = join(dir, "link.sock");
    symlinkSync(sock, link);
    removeStaleSocket(link);
    expect(existsSync(link)).toBe(true);
    l.stop(true);
    expect(() => removeStaleSocket(join(dir, "missing.sock"))).not.toThrow();
  });
});

describe("libc binding (src/sys/libc.ts)", () => {
  // Each bound symbol costs a compiled trampoline (time and memory, docs/PERFORMANCE.md), so what
  // the agent does before its first sandbox (read the config, replace a stale socket, become
  // subreaper, raise a connection's send buffer, the uevent listener's pipe) must use only the
  // CORE set; the rest is bound on first use. A fresh process, because this one's
  // other tests bind everything.
  test("the start-up path binds only the core symbols; the first other use binds the rest", () => {
    const dir = mkdtempSync(join(tmpdir(), "libc-bind-"));
    try {
      const src = join(import.meta.dir, "../../src/sys");
      const script = `
        import { readTextFile, removeStaleSocket } from "${src}/file.ts";
        import { installReaper } from "${src}/reaper.ts";
        import { closeFd, pipe } from "${src}/pipe.ts";
        import { setSendBuffer } from "${src}/socket.ts";
        import { C, libcRestBound } from "${src}/libc.ts";
        readTextFile("/proc/self/status");
        removeStaleSocket(${JSON.stringify(join(dir, "gone.sock"))});
        installReaper();
        pipe().forEach(closeFd);
        try { setSendBuffer(-1, 1 << 20); } catch {}
        const before = libcRestBound();
        const pid = C.getpid();
        console.log(JSON.stringify({ before, after: libcRestBound(), pidOk: pid === process.pid, bound: typeof Object.getOwnPropertyDescriptor(C, "getpid")?.value }));
        process.exit(0);`;
      writeFileSync(join(dir, "probe.ts"), script);
      const r = Bun.spawnSync([process.execPath, join(dir, "probe.ts")], { stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      expect(JSON.parse(r.stdout.toString())).toEqual({ before: false, after: true, pidOk: true, bound: "function" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
