// User namespaces (Kubernetes hostUsers: false): a container with a "user" namespace and
// UID/GID mappings sees uid 0 mapped to its range, runs as root inside while the host sees the
// mapped uid, and exec'd processes join the same user namespace.
import { describe, expect, test } from "bun:test";
import { chmodSync, readFileSync } from "node:fs";
import type { grpc } from "../../src/gen/index.ts";
import { cgroupDirs, Code, failure, isRoot, readAll, rpc, text, useHarness, type Harness } from "./containers-harness.ts";

let h: Harness;
const cids = new Set<string>();
const RANGE = { ContainerID: 0, HostID: 100000, Size: 65536 };

function userSpec(cid: string, args: string[]): grpc.ISpec {
  const s = h.spec(args, { cid }) as grpc.ISpec;
  s.Linux!.Namespaces!.push({ Type: "user" });
  s.Linux!.UIDMappings = [RANGE];
  s.Linux!.GIDMappings = [RANGE];
  return s;
}

describe.skipIf(!isRoot)("user namespaces", () => {
  useHarness(cids, (x) => {
    h = x;
    // mkdtemp makes the test dir 0700: the namespace's root (uid 100000 outside) must be able to
    // reach the rootfs, as it can under /run/kata-containers.
    chmodSync(h.dir, 0o755);
  });

  test("uid 0 inside is 100000 outside; maps as asked; exec joins the same user namespace", async () => {
    cids.add("userns");
    await rpc(h.c, "CreateContainer", { container_id: "userns", exec_id: "", OCI: userSpec("userns", ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; sleep 100"]) });
    await rpc(h.c, "StartContainer", { container_id: "userns" });
    const pid = Number(readFileSync(`${cgroupDirs(`${h.cgroupPrefix}/userns`)[0]}/cgroup.procs`, "utf8").split("\n")[0]);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    expect(status).toMatch(/^Uid:\s+100000\s+100000\s+100000\s+100000$/m);
    expect(status).toMatch(/^Gid:\s+100000\s+100000\s+100000\s+100000$/m);
    await rpc(h.c, "ExecProcess", { container_id: "userns", exec_id: "e1", process: { Args: ["sh", "-c", "cat /proc/self/uid_map; id -u"], Cwd: "/", Env: ["PATH=/bin"] } });
    const exec = text(await readAll(h.c, "userns", "e1", "ReadStdout"));
    expect(exec.replace(/\s+/g, " ").trim()).toBe("0 100000 65536 0");
    await rpc(h.c, "SignalProcess", { container_id: "userns", exec_id: "", signal: 9 });
    const out = text(await readAll(h.c, "userns", "", "ReadStdout"));
    expect(out.replace(/\s+/g, " ").trim()).toBe("0 100000 65536 0 100000 65536 0 0");
  });

  test("a user namespace without mappings, or mappings without one → INVALID_ARGUMENT", async () => {
    cids.add("badns");
    const noMaps = h.spec(["true"], { cid: "badns" }) as grpc.ISpec;
    noMaps.Linux!.Namespaces!.push({ Type: "user" });
    let f = await failure(rpc(h.c, "CreateContainer", { container_id: "badns", exec_id: "", OCI: noMaps }));
    expect(f.code).toBe(Code.INVALID_ARGUMENT);
    expect(f.message).toContain("UIDMappings");
    const noNs = h.spec(["true"], { cid: "badns" }) as grpc.ISpec;
    noNs.Linux!.UIDMappings = [RANGE];
    noNs.Linux!.GIDMappings = [RANGE];
    f = await failure(rpc(h.c, "CreateContainer", { container_id: "badns", exec_id: "", OCI: noNs }));
    expect(f.code).toBe(Code.INVALID_ARGUMENT);
    const join = userSpec("badns", ["true"]);
    join.Linux!.Namespaces!.at(-1)!.Path = "/proc/1/ns/user";
    f = await failure(rpc(h.c, "CreateContainer", { container_id: "badns", exec_id: "", OCI: join }));
    expect(f.message).toContain("joining a user namespace is not supported");
  });
});

describe.skipIf(!isRoot)("user namespaces joining a network namespace they do not own", () => {
  useHarness(cids, (x) => {
    h = x;
    chmodSync(h.dir, 0o755);
  });

  test("sysfs cannot be mounted there: /sys is bound read-only instead (as runc does); the container runs", async () => {
    const holder = Bun.spawn(["unshare", "--net", "sleep", "60"]);
    try {
      await Bun.sleep(100);
      const s = userSpec("usernet", ["sh", "-c", "ls /sys/class >/dev/null && echo sys-ok; touch /sys/x 2>&1 || echo sys-ro"]);
      s.Linux!.Namespaces = s.Linux!.Namespaces!.map((n) => (n.Type === "network" ? { Type: "network", Path: `/proc/${holder.pid}/ns/net` } : n));
      cids.add("usernet");
      await rpc(h.c, "CreateContainer", { container_id: "usernet", exec_id: "", OCI: s });
      await rpc(h.c, "StartContainer", { container_id: "usernet" });
      const out = text(await readAll(h.c, "usernet", "", "ReadStdout"));
      expect(out).toContain("sys-ok");
      expect(out).toContain("sys-ro");
    } finally {
      holder.kill(9);
    }
  });
});
