// The acceptance through containerd's Go ttRPC client (the library the Kata Go runtime
// uses), built offline from Debian's packages: a container lifecycle, exec + stdin round trip +
// SIGKILL, and an OOM kill, against the compiled agent. Skipped without Go or without root.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildInteropClient, goAvailable } from "../interop/build.ts";
import { childrenOf, isRoot, startHarness, type Harness } from "./containers-harness.ts";
import { missing } from "../helpers/require.ts";

let h: Harness;
let bin: string;

async function scenarios(...names: string[]): Promise<Record<string, any>[]> {
  const p = Bun.spawn([bin, "-addr", h.agent.address, "-rootfs", h.rootfs, "-cgroup-parent", h.cgroupPrefix, ...names], {
    stdout: "pipe",
    stderr: "pipe",
    timeout: 120_000,
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const lines = out.trim().split("\n").filter(Boolean);
  if (code !== 0) throw new Error(`interop-client exit ${code}: ${err}\n${lines.join("\n")}`);
  return lines.map((l) => JSON.parse(l));
}

describe.skipIf(missing({ "Go with containerd ttrpc": goAvailable(), root: isRoot }))("Go ttRPC client drives containers", () => {
  beforeAll(async () => {
    bin = buildInteropClient();
    h = await startHarness();
  }, 180_000);
  afterAll(async () => {
    await h?.stop();
  });

  test("lifecycle: hello on stdout, err on stderr, exit 7, removed", async () => {
    const [r] = await scenarios("lifecycle");
    expect(r).toMatchObject({ scenario: "lifecycle", code: "OK", stdout: "hello\n", stderr: "err\n", exit: 7 });
    console.log(`Go lifecycle (create → remove): ${r!.ms} ms`);
    await h.assertClean();
  });

  test("exec-cat: stdin round trip through an exec'd cat, SIGKILL of the init → 137, both removed", async () => {
    const [r] = await scenarios("exec-cat");
    expect(r).toMatchObject({ scenario: "exec-cat", code: "OK", same: true, cat_exit: 0, killed_exit: 137 });
    expect(r!.out_bytes).toBe(r!.in_bytes);
    await h.assertClean();
  });

  test("oom: 32 MiB limit, unbounded allocation → 137 and the OOM event", async () => {
    const [r] = await scenarios("oom");
    expect(r).toMatchObject({ scenario: "oom", code: "OK", exit: 137, oom_container: "go-oom" });
    await h.assertClean();
  });

  test("the health scenarios still pass after the container ones, on one connection", async () => {
    const r = await scenarios("lifecycle", "check", "version", "unknown-method", "check");
    expect(r.map((x) => x.code)).toEqual(["OK", "OK", "OK", "Unimplemented", "OK"]);
    expect(childrenOf(h.pid)).toEqual([]);
    await h.assertClean();
  });
});
