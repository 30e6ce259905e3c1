// The pause container as containerd 2.x's CRI and the Kata runtime shape it: user 65535,
// NoNewPrivileges, a read-only root, oomScoreAdj -998, namespaced sysctls (the CRI's
// net.ipv4.ip_unprivileged_port_start / ping_group_range) with /proc/sys among the readonly
// paths, and namespaces [ipc, uts, mount] (the runtime strips pid and network). On this host the
// pause container gets a network namespace of its own, so the net sysctls cannot touch the host's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { grpc } from "../../src/gen/index.ts";
import type { ISpec } from "../../src/container/oci-types.ts";
import { childrenOf, failure, isRoot, readAll, rpc, startHarness, text, type Harness } from "./containers-harness.ts";
import { missing } from "../helpers/require.ts";

let h: Harness;

/** Whether the agent may lower oom_score_adj (CAP_SYS_RESOURCE in its effective set). */
function agentHasSysResource(pid: number): boolean {
  const eff = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!;
  return (BigInt("0x" + eff) & (1n << 24n)) !== 0n;
}

function pauseSpec(hh: Harness, cid: string, oomScoreAdj: number): ISpec {
  const s = hh.spec(["sleep", "1000"], { cid, readonlyRoot: true });
  s.Process!.User = { UID: 65535, GID: 65535 } as never;
  s.Process!.NoNewPrivileges = true;
  s.Process!.OOMScoreAdj = oomScoreAdj;
  s.Linux!.Sysctl = { "net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647", "kernel.msgmax": "16384" };
  s.Linux!.Namespaces = [{ Type: "ipc", Path: "" }, { Type: "uts", Path: "" }, { Type: "mount", Path: "" }, { Type: "network", Path: "" }];
  expect(s.Linux!.ReadonlyPaths).toContain("/proc/sys");
  return s;
}

async function exec(hh: Harness, cid: string, id: string, script: string): Promise<string> {
  await rpc(hh.c, "ExecProcess", { container_id: cid, exec_id: id, process: hh.spec(["sh", "-c", script]).Process as grpc.IProcess });
  const out = text(await readAll(hh.c, cid, id, "ReadStdout"));
  await rpc(hh.c, "WaitProcess", { container_id: cid, exec_id: id });
  return out;
}

describe.skipIf(missing({ root: isRoot }))("pause container, runtime-shaped", () => {
  beforeAll(async () => {
    h = await startHarness();
    await rpc(h.c, "CreateSandbox", { sandbox_id: "pause-pod", hostname: "pause-pod" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test("sysctls are written before /proc/sys becomes read-only; the init runs as 65535 with its oom_score_adj", async () => {
    // -998 needs CAP_SYS_RESOURCE (a guest agent has it; this host's root may not): without it,
    // use a value that only raises the score, which exercises the same write-before-setuid path.
    const adj = agentHasSysResource(h.pid) ? -998 : 998;
    await rpc(h.c, "CreateContainer", { container_id: "pause", exec_id: "pause", OCI: pauseSpec(h, "pause", adj) as grpc.ISpec, sandbox_pidns: false });
    await rpc(h.c, "StartContainer", { container_id: "pause" });
    const init = childrenOf(h.pid).find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").startsWith("sleep\0"))!;
    expect(readFileSync(`/proc/${init}/oom_score_adj`, "utf8").trim()).toBe(String(adj));
    expect(/Uid:\s+65535\s+65535/.test(readFileSync(`/proc/${init}/status`, "utf8"))).toBe(true);
    const out = await exec(h, "pause", "sysctl",
      "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/msgmax; echo x > /proc/sys/kernel/msgmax 2>/dev/null || echo ro");
    expect(out.split("\n").slice(0, 4)).toEqual(["0", "0\t2147483647", "16384", "ro"]);
    await h.removeQuietly("pause");
  });

  test("without CAP_SYS_RESOURCE, oomScoreAdj -998 fails naming the step and the missing capability", async () => {
    if (agentHasSysResource(h.pid)) return; // a guest: covered by the test above with -998
    const f = await failure(rpc(h.c, "CreateContainer", { container_id: "pause2", exec_id: "pause2", OCI: pauseSpec(h, "pause2", -998) as grpc.ISpec }));
    expect(f.message).toContain("write oom_score_adj -998: EACCES");
    expect(f.message).toContain("CAP_SYS_RESOURCE");
  });
});
