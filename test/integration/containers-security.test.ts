// What a container process is allowed, seen from inside (/proc/self/status and friends), against
// the compiled agent: user and groups, capability sets, no_new_privs, masked and read-only paths,
// a read-only root, the hostname.
import { describe, expect, test } from "bun:test";
import { readlinkSync } from "node:fs";
import type { grpc } from "../../src/gen/index.ts";
import { isRoot, readAll, rpc, useHarness, text, type Harness } from "./containers-harness.ts";
import { TESTER_GID, TESTER_UID } from "../fixtures/busybox.ts";
import { missing } from "../helpers/require.ts";

let h: Harness;
const cids = new Set<string>();

/** Runs `sh -c script` as the container's init and returns its stdout (after exit code 0). */
async function runScript(cid: string, script: string, edit: (s: grpc.ISpec) => void = () => {}): Promise<string> {
  cids.add(cid);
  const spec = h.spec(["sh", "-c", script], { cid });
  edit(spec as grpc.ISpec);
  await h.create(cid, spec);
  await rpc(h.c, "StartContainer", { container_id: cid });
  const [out, err] = await Promise.all([readAll(h.c, cid, "", "ReadStdout"), readAll(h.c, cid, "", "ReadStderr")]);
  const code = (await rpc(h.c, "WaitProcess", { container_id: cid, exec_id: "" })).status;
  if (code !== 0) throw new Error(`${cid} exited ${code}: ${text(err)}`);
  return text(out);
}

function statusField(status: string, key: string): string {
  const line = status.split("\n").find((l) => l.startsWith(`${key}:`));
  if (!line) throw new Error(`no ${key} in /proc/self/status`);
  return line.slice(key.length + 1).trim();
}

const CAP_KILL = 5;
const CAP_NET_BIND_SERVICE = 10;
const CAP_AUDIT_WRITE = 29;
const MINIMAL_CAPS = ((1n << BigInt(CAP_KILL)) | (1n << BigInt(CAP_NET_BIND_SERVICE)) | (1n << BigInt(CAP_AUDIT_WRITE))).toString(16).padStart(16, "0");

describe.skipIf(missing({ root: isRoot }))("container identity and confinement", () => {
  useHarness(cids, (x) => {
    h = x;
  });

  test("root with the spec's capability sets and no_new_privs", async () => {
    const st = await runScript("idroot", "cat /proc/self/status");
    expect(statusField(st, "Uid")).toBe("0\t0\t0\t0");
    expect(statusField(st, "CapEff")).toBe(MINIMAL_CAPS);
    expect(statusField(st, "CapPrm")).toBe(MINIMAL_CAPS);
    expect(statusField(st, "CapBnd")).toBe(MINIMAL_CAPS);
    expect(statusField(st, "CapAmb")).toBe("0000000000000000");
    expect(statusField(st, "NoNewPrivs")).toBe("1");
  });

  test("uid/gid/additional gids of a non-root user; only ambient capabilities survive its execve", async () => {
    const st = await runScript("iduser", "cat /proc/self/status; echo HOME=$HOME", (s) => {
      s.Process!.User = { UID: TESTER_UID, GID: TESTER_GID, AdditionalGids: [5, 100] };
      s.Process!.NoNewPrivileges = false;
    });
    expect(statusField(st, "Uid")).toBe(`${TESTER_UID}\t${TESTER_UID}\t${TESTER_UID}\t${TESTER_UID}`);
    expect(statusField(st, "Gid")).toBe(`${TESTER_GID}\t${TESTER_GID}\t${TESTER_GID}\t${TESTER_GID}`);
    expect(statusField(st, "Groups").split(" ").map(Number).sort((a, b) => a - b)).toEqual([5, 100]);
    // Linux recomputes a non-root process's sets at execve: without ambient ones nothing is left
    // (runc and Kata behave the same); the bounding set is still the spec's.
    expect(statusField(st, "CapEff")).toBe("0000000000000000");
    expect(statusField(st, "CapBnd")).toBe(MINIMAL_CAPS);
    expect(statusField(st, "NoNewPrivs")).toBe("0");
    expect(st).toContain("HOME=/home/tester"); // from the container's /etc/passwd

    const amb = await runScript("idamb", "cat /proc/self/status", (s) => {
      s.Process!.User = { UID: TESTER_UID, GID: TESTER_GID };
      s.Process!.Capabilities!.Inheritable = ["CAP_NET_BIND_SERVICE"];
      s.Process!.Capabilities!.Ambient = ["CAP_NET_BIND_SERVICE"];
    });
    const bind = (1 << CAP_NET_BIND_SERVICE).toString(16).padStart(16, "0");
    expect(statusField(amb, "CapAmb")).toBe(bind);
    expect(statusField(amb, "CapEff")).toBe(bind);
  });

  test("an exec'd process without Capabilities inherits the container's; with its own user", async () => {
    cids.add("execid");
    await h.create("execid", h.spec(["sleep", "1000"], { cid: "execid" }));
    await rpc(h.c, "StartContainer", { container_id: "execid" });
    const p = h.spec(["cat", "/proc/self/status"]).Process!;
    p.Capabilities = null;
    p.User = { UID: 65534, GID: 65534 };
    await rpc(h.c, "ExecProcess", { container_id: "execid", exec_id: "st", process: p as grpc.IProcess });
    const st = text(await readAll(h.c, "execid", "st", "ReadStdout"));
    expect(statusField(st, "Uid").split("\t")[0]).toBe("65534");
    expect(statusField(st, "CapBnd")).toBe(MINIMAL_CAPS);
  });

  test("masked paths read empty, read-only paths refuse writes, the hostname is the spec's", async () => {
    const out = await runScript("masked", [
      // /proc/kcore is not on every kernel; timer_list and keys are (and are never empty unmasked).
      "echo timer_list=$(cat /proc/timer_list | wc -c) keys=$(cat /proc/keys | wc -c)",
      "echo mask=$(grep -c -E ' /proc/(timer_list|keys) ' /proc/self/mountinfo)",
      "echo firmware=$(ls /sys/firmware | wc -l)",
      "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo sys=rw || echo sys=ro",
      "echo 1 > /proc/sysrq-trigger 2>/dev/null && echo sysrq=rw || echo sysrq=ro",
      "echo host=$(hostname)",
    ].join("; "), (s) => {
      s.Hostname = "ctr-host";
    });
    expect(out).toContain("timer_list=0 keys=0\n");
    expect(out).toContain("mask=2\n");
    expect(out).toContain("firmware=0\n");
    expect(out).toContain("sys=ro\n");
    expect(out).toContain("sysrq=ro\n");
    expect(out).toContain("host=ctr-host\n");
  });

  test("a read-only root refuses writes outside its tmpfs mounts", async () => {
    const out = await runScript("roroot", "touch /rootwrite 2>/dev/null && echo root=rw || echo root=ro; touch /dev/shm/x && echo shm=rw", (s) => {
      s.Root!.Readonly = true;
    });
    expect(out).toBe("root=ro\nshm=rw\n");
  });

  test("the container has its own pid, net, ipc, uts and mount namespaces", async () => {
    const self = (ns: string) => readlinkSync(`/proc/self/ns/${ns}`);
    const out = await runScript("ns", "for n in pid net ipc uts mnt; do echo $n=$(readlink /proc/self/ns/$n); done; echo pid=$$");
    for (const n of ["pid", "net", "ipc", "uts", "mnt"]) {
      const line = out.split("\n").find((l) => l.startsWith(`${n}=`))!;
      expect(line.slice(n.length + 1)).not.toBe(self(n));
    }
    expect(out).toContain("pid=1\n");
  });
});
