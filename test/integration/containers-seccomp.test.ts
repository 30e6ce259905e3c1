// Seccomp end to end: a busybox container under Docker's real default profile runs and is denied
// unshare; a profile that answers mkdirat with EPERM makes mkdir fail while ls works, in the init
// and in exec'd processes, with and without NoNewPrivileges (the two load orders); NOTIFY is
// refused; GetGuestDetails reports seccomp support.
import { describe, expect, test } from "bun:test";
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

async function run(cid: string, script: string, seccomp: grpc.ILinuxSeccomp | undefined, nnp: boolean): Promise<{ out: string; status: number }> {
  cids.add(cid);
  const s = h.spec(["sh", "-c", script], { cid }) as grpc.ISpec;
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
