// Issue 14 #12: caller errors answer INVALID_ARGUMENT / FAILED_PRECONDITION / RESOURCE_EXHAUSTED
// naming the field or object; INTERNAL is for the agent's own bugs. Each case here answered
// INTERNAL before.
import { describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { grpc } from "../../src/gen/index.ts";
import { cgroupDirs, Code, failure, isRoot, rpc, useHarness, type Harness } from "./containers-harness.ts";

let h: Harness;
const cids = new Set<string>();

function spec(cid: string, args: string[] = ["true"], edit: (s: grpc.ISpec) => void = () => {}): grpc.ISpec {
  const s = h.spec(args, { cid }) as grpc.ISpec;
  edit(s);
  return s;
}

async function createAndStart(cid: string, s: grpc.ISpec): Promise<void> {
  cids.add(cid);
  await rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: s });
  await rpc(h.c, "StartContainer", { container_id: cid });
}


describe.skipIf(!isRoot)("caller errors are not INTERNAL", () => {
  useHarness(cids, (x) => {
    h = x;
    // A symlink loop inside the rootfs, for a mount target that walks through it.
    mkdirSync(join(h.rootfs, "loops"), { recursive: true });
    symlinkSync("b", join(h.rootfs, "loops/a"));
    symlinkSync("a", join(h.rootfs, "loops/b"));
  });

  const cases: Array<[string, (s: grpc.ISpec) => void, number, string]> = [
    ["NUL in an env entry", (s) => s.Process!.Env!.push("A=\0"), Code.INVALID_ARGUMENT, "Process.Env"],
    ["NUL in an argument", (s) => (s.Process!.Args = ["echo", "a\0b"]), Code.INVALID_ARGUMENT, "Process.Args[1]"],
    ["NUL in the hostname", (s) => (s.Hostname = "a\0b"), Code.INVALID_ARGUMENT, "Hostname"],
    ["hostname over 64 bytes", (s) => (s.Hostname = "h".repeat(65)), Code.INVALID_ARGUMENT, "Hostname"],
    ["NUL in a mount type", (s) => s.Mounts!.push({ destination: "/mnt", type: "tmp\0fs", source: "tmpfs" }), Code.INVALID_ARGUMENT, "Mounts[7]"],
    ["unknown mount type", (s) => s.Mounts!.push({ destination: "/mnt", type: "nosuchfs", source: "x" }), Code.INVALID_ARGUMENT, "/mnt"],
    ["bad tmpfs option value", (s) => s.Mounts!.push({ destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["size=lots"] }), Code.INVALID_ARGUMENT, "/mnt"],
    ["symlink loop in a mount target", (s) => s.Mounts!.push({ destination: "/loops/a/x", type: "tmpfs", source: "tmpfs" }), Code.INVALID_ARGUMENT, "/loops/a/x"],
    ["unknown sysctl", (s) => (s.Linux!.Sysctl = { "net.ipv4.no_such_knob": "1" }), Code.INVALID_ARGUMENT, "net.ipv4.no_such_knob"],
    ["bad sysctl value", (s) => (s.Linux!.Sysctl = { "net.ipv4.ip_forward": "yes please" }), Code.INVALID_ARGUMENT, "net.ipv4.ip_forward"],
    ["NUL in cgroupsPath", (s) => (s.Linux!.CgroupsPath = `/${h.cgroupPrefix}/a\0b`), Code.INVALID_ARGUMENT, "CgroupsPath"],
    ["args over ARG_MAX (E2BIG)", (s) => (s.Process!.Args = ["echo", ...Array.from({ length: 40 }, () => "x".repeat(100_000))]), Code.INVALID_ARGUMENT, "E2BIG"],
  ];
  for (const [name, edit, code, names] of cases) {
    test(`${name} → ${Code[code]}`, async () => {
      const f = await failure(createAndStart("bad", spec("bad", ["true"], edit)));
      expect({ code: Code[f.code], message: f.message }).toEqual({ code: Code[code], message: expect.stringContaining(names) });
      await h.removeQuietly("bad");
    });
  }

  test("UpdateContainer with values the kernel refuses → INVALID_ARGUMENT", async () => {
    await createAndStart("upd", spec("upd", ["sleep", "100"]));
    for (const resources of [{ CPU: { Quota: 500, Period: 1 } }, { Memory: { Limit: 4096 } }]) {
      const f = await failure(rpc(h.c, "UpdateContainer", { container_id: "upd", resources }));
      expect({ resources, code: Code[f.code] }).toEqual({ resources, code: "INVALID_ARGUMENT" });
    }
  });

  test("ExecProcess into an exited container → FAILED_PRECONDITION", async () => {
    await createAndStart("done", spec("done", ["true"]));
    await rpc(h.c, "WaitProcess", { container_id: "done", exec_id: "" });
    const f = await failure(rpc(h.c, "ExecProcess", { container_id: "done", exec_id: "e1", process: { Args: ["true"], Cwd: "/", Env: ["PATH=/bin"] } }));
    expect(Code[f.code]).toBe("FAILED_PRECONDITION");
  });

  test("StartContainer after the gate died → FAILED_PRECONDITION", async () => {
    cids.add("gone");
    await rpc(h.c, "CreateContainer", { container_id: "gone", exec_id: "", OCI: spec("gone", ["sleep", "100"]) });
    // The gate is the container's init before StartContainer: find it through the cgroup.
    const procs = (await Bun.file(join(cgroupDirs(`${h.cgroupPrefix}/gone`)[0]!, "cgroup.procs")).text()).split("\n").filter(Boolean).map(Number);
    expect(procs.length).toBe(1);
    process.kill(procs[0]!, "SIGKILL");
    await Bun.sleep(100);
    const f = await failure(rpc(h.c, "StartContainer", { container_id: "gone" }));
    expect(Code[f.code]).toBe("FAILED_PRECONDITION");
  });
});

