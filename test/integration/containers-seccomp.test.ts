// Seccomp end to end: a busybox container under Docker's real default profile runs and is denied
// unshare; a profile that answers mkdirat with EPERM makes mkdir fail while ls works, in the init
// and in exec'd processes, with and without NoNewPrivileges (the two load orders); NOTIFY is
// refused; GetGuestDetails reports seccomp support. A 32-bit (i386) program runs under Docker's
// profile, which lists SCMP_ARCH_X86, and its socketcall(2) follows the socket rules.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { grpc } from "../../src/gen/index.ts";
import type { SeccompProfile } from "../../src/seccomp/profile.ts";
import { dockerProfile } from "../helpers/seccomp/docker-profile.ts";
import { Code, failure, isRoot, readAll, rpc, text, useHarness, type Harness } from "./containers-harness.ts";

let h: Harness;
const cids = new Set<string>();

function toSpec(p: SeccompProfile): grpc.ILinuxSeccomp {
  return {
    DefaultAction: p.defaultAction, Architectures: p.architectures, Flags: p.flags,
    Syscalls: p.syscalls.map((s) => ({
      Names: s.names, Action: s.action, ...(s.errnoRet !== undefined ? { errnoret: s.errnoRet } : {}),
      Args: s.args.map((a) => ({ Index: a.index, Value: Number(a.value), ValueTwo: Number(a.valueTwo), Op: a.op })),
    })),
  };
}

const noMkdir: grpc.ILinuxSeccomp = {
  DefaultAction: "SCMP_ACT_ALLOW", Architectures: ["SCMP_ARCH_X86_64"], Flags: ["SECCOMP_FILTER_FLAG_TSYNC"],
  Syscalls: [{ Names: ["mkdirat", "mkdir"], Action: "SCMP_ACT_ERRNO", errnoret: 1 }],
};

/** With CAP_SYS_ADMIN, so that only the filter can deny unshare. */
const ADMIN_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"];

async function run(cid: string, script: string, seccomp: grpc.ILinuxSeccomp | undefined, nnp: boolean, binds: Record<string, string> = {}): Promise<{ out: string; status: number }> {
  cids.add(cid);
  const s = h.spec(["sh", "-c", script], { cid }) as grpc.ISpec;
  for (const [dest, source] of Object.entries(binds)) s.Mounts!.push({ destination: dest, type: "bind", source, options: ["rbind", "ro"] });
  if (seccomp) s.Linux!.Seccomp = seccomp;
  s.Process!.Capabilities = { Bounding: ADMIN_CAPS, Effective: ADMIN_CAPS, Permitted: ADMIN_CAPS, Inheritable: [], Ambient: [] };
  s.Process!.NoNewPrivileges = nnp;
  await rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: s });
  await rpc(h.c, "StartContainer", { container_id: cid });
  const out = text(await readAll(h.c, cid, "", "ReadStdout")) + text(await readAll(h.c, cid, "", "ReadStderr"));
  const { status } = await rpc(h.c, "WaitProcess", { container_id: cid, exec_id: "" });
  return { out, status: status ?? -1 };
}

describe.skipIf(!isRoot)("seccomp", () => {
  useHarness(cids, (x) => {
    h = x;
  });

  test("control: without a profile the same container may unshare (it has CAP_SYS_ADMIN)", async () => {
    const r = await run("unconfined", "unshare -n true; echo unshare=$?", undefined, true);
    expect(r.out).toContain("unshare=0");
  });

  for (const nnp of [true, false]) {
    test(`Docker's default profile (NoNewPrivileges ${nnp}): the workload runs, unshare is denied`, async () => {
      const r = await run(`docker-${nnp}`, "ls / >/dev/null && echo ls-ok; unshare -n true; echo unshare=$?", toSpec(dockerProfile()), nnp);
      expect(r.out).toContain("ls-ok");
      expect(r.out).toMatch(/unshare=[1-9]/);
      expect(r.out).toContain("Operation not permitted");
      expect(r.status).toBe(0);
    });

    test(`mkdirat → EPERM (NoNewPrivileges ${nnp}): mkdir fails, ls works, in exec'd processes too`, async () => {
      const cid = `nomkdir-${nnp}`;
      const r = await run(cid, "ls / >/dev/null && echo ls-ok; mkdir /tmp/x; echo mkdir=$?", noMkdir, nnp);
      expect(r.out).toContain("ls-ok");
      expect(r.out).toContain("mkdir=1");
      expect(r.out).toContain("Operation not permitted");
    });
  }

  describe("a 32-bit (i386) program", () => {
    // Built here: gcc emits i386 code without a 32-bit libc (-nostdlib), and the kernel runs it
    // through its IA-32 emulation.
    const dir = mkdtempSync(join(tmpdir(), "seccomp-i386-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    beforeAll(() => {
      const cc = Bun.spawnSync(["cc", "-m32", "-nostdlib", "-static", "-fno-pic", "-fno-stack-protector", "-O1", "-o", join(dir, "hello"),
        join(import.meta.dir, "../helpers/seccomp/i386-hello.c")]);
      if (cc.exitCode !== 0) throw new Error(`building the i386 program failed: ${cc.stderr.toString()}`);
    });
    /** Everything allowed but one call (EPERM), on both ABIs. */
    const denyOne = (name: string): grpc.ILinuxSeccomp => ({
      DefaultAction: "SCMP_ACT_ALLOW", Architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], Flags: [],
      Syscalls: [{ Names: [name], Action: "SCMP_ACT_ERRNO", errnoret: 1 }],
    });

    test("runs under Docker's default profile (SCMP_ARCH_X86 listed), socketcall included", async () => {
      const r = await run("i386-docker", "/i386/hello; echo status=$?", toSpec(dockerProfile()), true, { "/i386": dir });
      expect(r.out).toContain("i386 ok\nsocketcall ok\nstatus=0");
    });

    test("a rule for socket decides socketcall(SYS_SOCKET) too, as libseccomp does; one for bind does not", async () => {
      const denied = await run("i386-no-socket", "exec /i386/hello", denyOne("socket"), true, { "/i386": dir });
      expect(denied.out).toBe("i386 ok\nsocketcall denied\n");
      const other = await run("i386-no-bind", "exec /i386/hello", denyOne("bind"), true, { "/i386": dir });
      expect(other.out).toBe("i386 ok\nsocketcall ok\n");
    });

    test("a profile without SCMP_ARCH_X86 kills it (the bad-architecture action)", async () => {
      const p = dockerProfile();
      const r = await run("i386-noarch", "/i386/hello; echo status=$?", toSpec({ ...p, architectures: p.architectures.filter((a) => a !== "SCMP_ARCH_X86") }), true, { "/i386": dir });
      expect(r.out).not.toContain("i386 ok");
      expect(r.out).toContain(`status=${128 + 31}`); // SIGSYS
    });
  });

  test("an exec'd process gets the container's filter", async () => {
    const cid = "exec-filtered";
    cids.add(cid);
    const s = h.spec(["sleep", "100"], { cid }) as grpc.ISpec;
    s.Linux!.Seccomp = noMkdir;
    await rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: s });
    await rpc(h.c, "StartContainer", { container_id: cid });
    await rpc(h.c, "ExecProcess", { container_id: cid, exec_id: "e1", process: { Args: ["sh", "-c", "mkdir /tmp/y; echo mkdir=$?"], Cwd: "/", Env: ["PATH=/bin:/usr/bin"] } });
    const out = text(await readAll(h.c, cid, "e1", "ReadStdout")) + text(await readAll(h.c, cid, "e1", "ReadStderr"));
    expect(out).toContain("mkdir=1");
    expect(out).toContain("Operation not permitted");
  });

  test("SCMP_ACT_NOTIFY → INVALID_ARGUMENT naming the field; nothing left behind", async () => {
    cids.add("notify");
    const s = h.spec(["true"], { cid: "notify" }) as grpc.ISpec;
    s.Linux!.Seccomp = { DefaultAction: "SCMP_ACT_ALLOW", Syscalls: [{ Names: ["mkdir"], Action: "SCMP_ACT_NOTIFY" }] };
    const f = await failure(rpc(h.c, "CreateContainer", { container_id: "notify", exec_id: "", OCI: s }));
    expect(f.code).toBe(Code.INVALID_ARGUMENT);
    expect(f.message).toContain("Spec.Linux.Seccomp.syscalls[0].action");
  });

  test("GetGuestDetails says supports_seccomp", async () => {
    const d = await rpc(h.c, "GetGuestDetails", { mem_block_size: false, mem_hotplug_probe: false });
    expect(d.agent_details?.supports_seccomp).toBe(true);
  });
});
