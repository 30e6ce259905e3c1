import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyFile, safeTarget } from "../../src/guest/copy-file.ts";
import { guestDetails } from "../../src/guest/details.ts";
import { AgentError } from "../../src/errors.ts";

let dir: string;
let base: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "copyfile-"));
  base = join(dir, "shared/containers");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const req = (path: string, data: string, extra: Partial<Parameters<typeof copyFile>[0]> = {}) => ({
  path, file_size: Buffer.byteLength(data), file_mode: 0o100640, dir_mode: 0o750,
  uid: process.getuid!(), gid: process.getgid!(), offset: 0, data: Buffer.from(data), ...extra,
});

describe("CopyFile", () => {
  test("writes a file below the base with its mode, creating parents", () => {
    copyFile(req(`${base}/c1/etc/hosts`, "127.0.0.1 localhost\n"), base);
    const p = `${base}/c1/etc/hosts`;
    expect(readFileSync(p, "utf8")).toBe("127.0.0.1 localhost\n");
    expect(statSync(p).mode & 0o7777).toBe(0o640);
  });

  test("chunks land at their offsets; the file appears only when complete", () => {
    const p = `${base}/big`;
    copyFile({ ...req(p, "hello "), file_size: 11 }, base);
    expect(existsSync(p)).toBe(false);
    copyFile({ ...req(p, "world"), file_size: 11, offset: 6 }, base);
    expect(readFileSync(p, "utf8")).toBe("hello world");
    expect(existsSync(`${p}.tmp`)).toBe(false);
  });

  test("symlink and directory modes", () => {
    copyFile({ ...req(`${base}/d`, ""), file_mode: 0o040755 }, base);
    expect(statSync(`${base}/d`).isDirectory()).toBe(true);
    copyFile({ ...req(`${base}/l`, "target/file"), file_mode: 0o120777 }, base);
    expect(readlinkSync(`${base}/l`)).toBe("target/file");
  });

  test.each([
    ["relative", "shared/x"],
    ["outside", "/etc/passwd"],
    ["dot-dot", "/BASE/../../escape"],
    ["prefix trick", "/BASEx/file"],
  ])("refuses a %s path", (_n, path) => {
    const p = path.replace("/BASE", base);
    expect(() => copyFile(req(p, "x"), base)).toThrow(AgentError);
    expect(existsSync(join(dir, "escape"))).toBe(false);
  });

  test("refuses a path through a symlink that leaves the base", () => {
    mkdirSync(base, { recursive: true });
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere"), `${base}/link`);
    expect(() => safeTarget(`${base}/link/file`, base)).toThrow(/through a symlink/);
    expect(() => copyFile(req(`${base}/link/file`, "x"), base)).toThrow(AgentError);
    expect(existsSync(join(dir, "elsewhere/file"))).toBe(false);
  });

  test("a chunk beyond file_size is refused", () => {
    expect(() => copyFile({ ...req(`${base}/f`, "toolong"), file_size: 3 }, base)).toThrow(/exceeds file_size/);
  });
});

describe("GetGuestDetails", () => {
  test("reports the agent and the memory block size when asked", () => {
    const d = guestDetails({ memBlockSize: true, memHotplugProbe: false, initDaemon: false });
    expect(d.agent_details.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(d.agent_details.init_daemon).toBe(false);
    expect(d.support_mem_hotplug_probe).toBe(false);
    if (existsSync("/sys/devices/system/memory/block_size_bytes")) expect(d.mem_block_size_bytes).toBeGreaterThan(0);
    expect(guestDetails({ memBlockSize: false, memHotplugProbe: false, initDaemon: true }).mem_block_size_bytes).toBe(0);
  });
});
