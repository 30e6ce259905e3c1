// Processes and their stdio against the compiled agent: exec into a running container (same pid
// namespace, same filesystem), stdin round trips, terminals and window sizes, 10 MiB on stdout
// and stderr at once without loss, and container_pipe_size.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cgroupDirs, Code, failure, isRoot, readAll, rpc, sha256, startHarness, useHarness, text, type Harness } from "./containers-harness.ts";
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { getPipeSize } from "../../src/sys/pipe.ts";
import { join } from "node:path";
import type { grpc } from "../../src/gen/index.ts";
import { missing } from "../helpers/require.ts";

let h: Harness;
const cids = new Set<string>();

async function run(cid: string, args: string[], o: { terminal?: boolean } = {}): Promise<void> {
  cids.add(cid);
  await h.create(cid, h.spec(args, { cid, ...o }));
  await rpc(h.c, "StartContainer", { container_id: cid });
}

function proc(args: string[], o: { terminal?: boolean; rows?: number; cols?: number } = {}): grpc.IProcess {
  const p = h.spec(args, { terminal: o.terminal }).Process!;
  if (o.rows) p.ConsoleSize = { Height: o.rows, Width: o.cols ?? 80 };
  return p as grpc.IProcess;
}

async function exec(cid: string, execId: string, args: string[], o: { terminal?: boolean; rows?: number; cols?: number } = {}) {
  await rpc(h.c, "ExecProcess", { container_id: cid, exec_id: execId, process: proc(args, o) });
}

describe.skipIf(missing({ root: isRoot }))("container processes and stdio", () => {
  useHarness(cids, (x) => {
    h = x;
  });

  test("exec joins the init's pid namespace and filesystem", async () => {
    await run("ex", ["sh", "-c", "echo from-init > /tmp/marker-ex; exec sleep 1000"]);
    await Bun.sleep(50);
    await exec("ex", "look", ["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /tmp/marker-ex; echo pid=$$"]);
    const out = text(await readAll(h.c, "ex", "look", "ReadStdout"));
    expect((await rpc(h.c, "WaitProcess", { container_id: "ex", exec_id: "look" })).status).toBe(0);
    const [cmdline, marker, pid] = out.split("\n");
    expect(cmdline!.trim()).toBe("sleep 1000");
    expect(marker).toBe("from-init");
    // Its own pid is small: it lives in the container's pid namespace, not the agent's.
    expect(Number(pid!.slice(4))).toBeLessThan(100);
    await exec("ex", "ps", ["ps", "-o", "pid,args"]);
    const ps = text(await readAll(h.c, "ex", "ps", "ReadStdout"));
    expect(ps).toMatch(/^\s*1\s+sleep 1000$/m);
  });

  test("duplicate exec_id → ALREADY_EXISTS; unknown exec_id → NOT_FOUND", async () => {
    await run("dup", ["sleep", "1000"]);
    await exec("dup", "e1", ["sleep", "1000"]);
    const d = await failure(rpc(h.c, "ExecProcess", { container_id: "dup", exec_id: "e1", process: proc(["true"]) }));
    expect(d.code).toBe(Code.ALREADY_EXISTS);
    expect(d.message).toContain("e1");
    const n = await failure(rpc(h.c, "WaitProcess", { container_id: "dup", exec_id: "nope" }));
    expect(n.code).toBe(Code.NOT_FOUND);
    expect(n.message).toContain("nope");
    const c = await failure(rpc(h.c, "ExecProcess", { container_id: "nosuch", exec_id: "e1", process: proc(["true"]) }));
    expect(c.code).toBe(Code.INVALID_ARGUMENT);
    expect(c.message).toContain("nosuch");
  });

  test("stdin round trip through cat: WriteStdin, CloseStdin → EOF, output equals input", async () => {
    await run("cat", ["sleep", "1000"]);
    await exec("cat", "c1", ["cat"]);
    const input = new Uint8Array(3_300_000).map((_, i) => (i * 7919) % 251);
    const reading = readAll(h.c, "cat", "c1", "ReadStdout", 65536);
    let written = 0;
    // Small writes and writes far above the stdin sink's high-water mark (64 KiB).
    for (const size of [50_000, 50_000, 1_000_000, 200_000, 2_000_000]) {
      const r = await rpc(h.c, "WriteStdin", { container_id: "cat", exec_id: "c1", data: input.subarray(written, written + size) });
      expect(r.len).toBe(size);
      written += r.len ?? 0;
    }
    expect(written).toBe(input.length);
    await rpc(h.c, "CloseStdin", { container_id: "cat", exec_id: "c1" });
    const out = await reading;
    expect(sha256(out)).toBe(sha256(input));
    expect((await rpc(h.c, "WaitProcess", { container_id: "cat", exec_id: "c1" })).status).toBe(0);
  });

  test("an empty WriteStdin closes stdin too (the init's own stdin)", async () => {
    await run("cat0", ["cat"]);
    const w = await rpc(h.c, "WriteStdin", { container_id: "cat0", exec_id: "", data: new TextEncoder().encode("abc\n") });
    expect(w.len).toBe(4);
    const e = await rpc(h.c, "WriteStdin", { container_id: "cat0", exec_id: "", data: new Uint8Array(0) });
    expect(e.len).toBe(0);
    expect(text(await readAll(h.c, "cat0", "", "ReadStdout"))).toBe("abc\n");
    expect((await rpc(h.c, "WaitProcess", { container_id: "cat0", exec_id: "" })).status).toBe(0);
  });

  test("WriteStdin to a process that is gone fails cleanly with FAILED_PRECONDITION (no crash), small or large", async () => {
    await run("gone", ["true"]);
    await Bun.sleep(200); // exited, not yet waited for: its stdin pipe has no reader any more
    for (const size of [100_000, 10, 1 << 20]) {
      const f = await failure(rpc(h.c, "WriteStdin", { container_id: "gone", exec_id: "", data: new Uint8Array(size) }));
      expect({ size, code: f.code }).toEqual({ size, code: Code.FAILED_PRECONDITION });
      // The first write meets EPIPE; stdin is closed from then on.
      expect(f.message).toMatch(size === 100_000 ? /EPIPE/ : /stdin is closed/);
    }
    await rpc(h.c, "CloseStdin", { container_id: "gone", exec_id: "" });
    expect((await rpc(h.c, "WaitProcess", { container_id: "gone", exec_id: "" })).status).toBe(0);
    expect(h.agent.proc.exitCode).toBeNull();
  });

  test("terminal: stty sees ConsoleSize and TtyWinResize; without tty → UNAVAILABLE", async () => {
    await run("tty", ["sleep", "1000"]);
    await exec("tty", "t1", ["sh", "-c", "stty size; read x; stty size; test -t 0 && test -t 2 && echo is-a-tty"], { terminal: true, rows: 33, cols: 101 });
    const first = await rpc(h.c, "ReadStdout", { container_id: "tty", exec_id: "t1", len: 4096 });
    expect(text(first.data!)).toContain("33 101");
    await rpc(h.c, "TtyWinResize", { container_id: "tty", exec_id: "t1", row: 40, column: 120 });
    await rpc(h.c, "WriteStdin", { container_id: "tty", exec_id: "t1", data: new TextEncoder().encode("go\n") });
    const rest = text(await readAll(h.c, "tty", "t1", "ReadStdout"));
    expect(rest).toContain("40 120");
    expect(rest).toContain("is-a-tty");
    // With a terminal there is no separate stderr.
    expect((await rpc(h.c, "ReadStderr", { container_id: "tty", exec_id: "t1", len: 10 })).data!.length).toBe(0);
    expect((await rpc(h.c, "WaitProcess", { container_id: "tty", exec_id: "t1" })).status).toBe(0);
    await exec("tty", "plain", ["sleep", "1000"]);
    const f = await failure(rpc(h.c, "TtyWinResize", { container_id: "tty", exec_id: "plain", row: 1, column: 1 }));
    expect(f.code).toBe(Code.UNAVAILABLE);
  });

  test("terminal init: CloseStdin ends `cat` (^D), output echoed back", async () => {
    await run("ttyinit", ["cat"], { terminal: true });
    await rpc(h.c, "WriteStdin", { container_id: "ttyinit", exec_id: "", data: new TextEncoder().encode("hello tty\n") });
    await rpc(h.c, "CloseStdin", { container_id: "ttyinit", exec_id: "" });
    const out = text(await readAll(h.c, "ttyinit", "", "ReadStdout"));
    // The terminal echoes the input and cat prints it again (with CRLF line ends).
    expect(out.split("hello tty").length - 1).toBe(2);
    expect((await rpc(h.c, "WaitProcess", { container_id: "ttyinit", exec_id: "" })).status).toBe(0);
  });

  test("a background child keeping stdout open: output, then EOF soon after the exec'd process exits", async () => {
    await run("bgkid", ["sleep", "1000"]);
    await exec("bgkid", "bg1", ["sh", "-c", "sleep 100 & echo hi; exit 4"]);
    const t0 = performance.now();
    const out = text(await readAll(h.c, "bgkid", "bg1", "ReadStdout"));
    const ms = performance.now() - t0;
    expect(out).toBe("hi\n");
    expect(ms).toBeLessThan(3000); // not the 100 s the sleep would hold the pipe
    expect((await rpc(h.c, "WaitProcess", { container_id: "bgkid", exec_id: "bg1" })).status).toBe(4);
  });

  test("10 MiB on stdout and stderr at once: nothing lost or reordered", async () => {
    const script = [
      "head -c 10485760 /dev/urandom > /tmp/big-o; head -c 10485760 /dev/urandom > /tmp/big-e",
      "sha256sum /tmp/big-o /tmp/big-e > /tmp/big-sums",
      "(cat /tmp/big-o & cat /tmp/big-e >&2; wait)",
    ].join("; ");
    await run("big", ["sh", "-c", script]);
    const t0 = performance.now();
    const [out, err] = await Promise.all([readAll(h.c, "big", "", "ReadStdout"), readAll(h.c, "big", "", "ReadStderr")]);
    const ms = performance.now() - t0;
    expect((await rpc(h.c, "WaitProcess", { container_id: "big", exec_id: "" })).status).toBe(0);
    expect(out.length).toBe(10485760);
    expect(err.length).toBe(10485760);
    // What the container computed, read from its (shared, writable) rootfs.
    const sums = readFileSync(join(h.rootfs, "tmp/big-sums"), "utf8").split("\n").map((l) => l.split(/\s+/)[0]);
    expect(sha256(out)).toBe(sums[0]!);
    expect(sha256(err)).toBe(sums[1]!);
    console.log(`20 MiB read (stdout + stderr concurrently): ${ms.toFixed(0)} ms`);
    for (const f of ["big-o", "big-e", "big-sums"]) rmSync(join(h.rootfs, "tmp", f));
  }, 60_000);
});

describe.skipIf(missing({ root: isRoot }))("container_pipe_size", () => {
  let hp: Harness;
  beforeAll(async () => {
    hp = await startHarness({ toml: "container_pipe_size = 262144" });
  });
  afterAll(async () => {
    await hp?.stop();
  });

  test("stdout/stderr pipes get the configured size; 1 MiB still flows", async () => {
    try {
      await hp.create("piped", hp.spec(["sh", "-c", "read x; head -c 1048576 /dev/zero; echo done >&2"], { cid: "piped" }));
      await rpc(hp.c, "StartContainer", { container_id: "piped" });
      const pid = Number(readFileSync(join(cgroupDirs(`${hp.cgroupPrefix}/piped`)[0]!, "cgroup.procs"), "utf8").trim().split("\n")[0]);
      const sizes = [0, 1, 2].map((n) => {
        // O_RDWR never blocks on a pipe; the extra writer is closed before the process exits.
        const fd = openSync(`/proc/${pid}/fd/${n}`, "r+");
        try {
          return getPipeSize(fd);
        } finally {
          closeSync(fd);
        }
      });
      expect(sizes[1]).toBe(262144);
      expect(sizes[2]).toBe(262144);
      expect(sizes[0]).not.toBe(262144); // stdin keeps the kernel default, like Kata
      await rpc(hp.c, "WriteStdin", { container_id: "piped", exec_id: "", data: new TextEncoder().encode("go\n") });
      const [out, err] = await Promise.all([readAll(hp.c, "piped", "", "ReadStdout"), readAll(hp.c, "piped", "", "ReadStderr")]);
      expect(out.length).toBe(1048576);
      expect(text(err)).toBe("done\n");
      expect((await rpc(hp.c, "WaitProcess", { container_id: "piped", exec_id: "" })).status).toBe(0);
    } finally {
      await hp.removeQuietly("piped");
    }
    await hp.assertClean();
  });
});
