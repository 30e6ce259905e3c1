// OCI hooks against the compiled agent: all six kinds run in order at create, start and remove,
// each given the state JSON on stdin; a failing or hanging prestart hook fails CreateContainer
// with a message naming the hook and leaves nothing behind. Hooks are host programs: small sh
// scripts in the test dir that append "<kind> <id> <status>" to a log file.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { grpc } from "../../src/gen/index.ts";
import { cgroupDirs, Code, failure, isRoot, rpc, useHarness, type Harness } from "./containers-harness.ts";
import { missing } from "../helpers/require.ts";

let h: Harness;
let recorder: string;
const cids = new Set<string>();

function script(name: string, body: string): string {
  const path = join(h.dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function hook(kind: string, log: string): grpc.IHook {
  return { Path: recorder, Args: [recorder, kind, log], Env: [`HOOK_KIND=${kind}`] };
}

function logLines(log: string): string[] {
  return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
}

describe.skipIf(missing({ root: isRoot }))("OCI hooks", () => {
  useHarness(cids, (x) => {
    h = x;
    // Appends "<kind> <id> <status> <env>" from the state JSON on stdin.
    recorder = script("record-hook", [
      'state=$(cat)',
      `id=$(printf '%s' "$state" | sed -n 's/.*"id":"\\([^"]*\\)".*/\\1/p')`,
      `status=$(printf '%s' "$state" | sed -n 's/.*"status":"\\([^"]*\\)".*/\\1/p')`,
      'echo "$1 $id $status $HOOK_KIND" >> "$2"',
    ].join("\n"));
  });

  test("prestart, createRuntime, createContainer at create; startContainer, poststart at start; poststop at remove", async () => {
    const log = join(h.dir, "order.log");
    const spec = h.spec(["sh", "-c", "read x"], { cid: "hooked" });
    spec.Hooks = {
      Prestart: [hook("prestart", log)],
      CreateRuntime: [hook("createRuntime", log)],
      CreateContainer: [hook("createContainer", log)],
      StartContainer: [hook("startContainer", log)],
      Poststart: [hook("poststart", log), hook("poststart2", log)],
      Poststop: [hook("poststop", log)],
    };
    cids.add("hooked");
    await h.create("hooked", spec);
    expect(logLines(log)).toEqual([
      "prestart hooked creating prestart",
      "createRuntime hooked creating createRuntime",
      "createContainer hooked creating createContainer",
    ]);
    await rpc(h.c, "StartContainer", { container_id: "hooked" });
    expect(logLines(log).slice(3)).toEqual([
      "startContainer hooked created startContainer",
      "poststart hooked running poststart",
      "poststart2 hooked running poststart2",
    ]);
    await rpc(h.c, "RemoveContainer", { container_id: "hooked", timeout: 5 });
    cids.delete("hooked");
    expect(logLines(log).slice(6)).toEqual(["poststop hooked stopped poststop"]);
  });

  test("a failing prestart hook fails CreateContainer, names the hook, and leaves nothing behind", async () => {
    const log = join(h.dir, "fail.log");
    const failing = script("failing-hook", "cat > /dev/null; echo 'no license to hook' >&2; exit 3");
    const spec = h.spec(["true"], { cid: "badhook" });
    spec.Hooks = { Prestart: [hook("prestart", log), { Path: failing, Args: [failing] }], CreateRuntime: [hook("createRuntime", log)] };
    cids.add("badhook");
    const f = await failure(h.create("badhook", spec));
    expect(f.code).toBe(Code.INTERNAL);
    expect(f.message).toContain("prestart hook #1");
    expect(f.message).toContain(failing);
    expect(f.message).toContain("exit status 3: no license to hook"); // its stderr, for the operator
    expect(logLines(log)).toEqual(["prestart badhook creating prestart"]); // the rest did not run
    expect(cgroupDirs(`${h.cgroupPrefix}/badhook`)).toEqual([]);
    // The id is free again.
    const again = await failure(rpc(h.c, "StartContainer", { container_id: "badhook" }));
    expect(again.code).toBe(Code.INVALID_ARGUMENT);
    await h.create("badhook", h.spec(["true"], { cid: "badhook" }));
  });

  test("a hook past its timeout is killed and fails CreateContainer", async () => {
    const slow = script("slow-hook", "exec sleep 30");
    const spec = h.spec(["true"], { cid: "slowhook" });
    spec.Hooks = { CreateRuntime: [{ Path: slow, Args: [slow], Timeout: 1 }] };
    cids.add("slowhook");
    const t0 = performance.now();
    const f = await failure(h.create("slowhook", spec));
    const ms = performance.now() - t0;
    expect(f.code).toBe(Code.INTERNAL);
    expect(f.message).toContain("createRuntime hook #0");
    expect(f.message).toContain("timed out after 1 s");
    expect(ms).toBeGreaterThan(900);
    expect(ms).toBeLessThan(5000);
  });

  test("hooks that exit at once without reading stdin, also with a state larger than a pipe", async () => {
    const spec = h.spec(["true"], { cid: "quickhooks" });
    // ~200 KiB of annotations: the state JSON no longer fits a pipe buffer.
    spec.Annotations = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`note${i}`, "x".repeat(1000)]));
    spec.Hooks = { Prestart: Array.from({ length: 5 }, () => ({ Path: "/bin/true" })), CreateRuntime: [{ Path: "/bin/true" }] };
    cids.add("quickhooks");
    await h.create("quickhooks", spec);
    await rpc(h.c, "StartContainer", { container_id: "quickhooks" });
    expect((await rpc(h.c, "WaitProcess", { container_id: "quickhooks", exec_id: "" })).status).toBe(0);
  });

  test("a hook that never reads a large state still times out", async () => {
    const spec = h.spec(["true"], { cid: "stuckhook" });
    spec.Annotations = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`note${i}`, "x".repeat(1000)]));
    spec.Hooks = { Prestart: [{ Path: "/bin/sleep", Args: ["sleep", "30"], Timeout: 1 }] };
    cids.add("stuckhook");
    const f = await failure(h.create("stuckhook", spec));
    expect(f.message).toContain("timed out after 1 s");
  });

  test("a hook that does not exist fails CreateContainer naming it", async () => {
    const spec = h.spec(["true"], { cid: "nohook" });
    spec.Hooks = { Prestart: [{ Path: "/no/such/hook", Args: ["hook"] }] };
    cids.add("nohook");
    const f = await failure(h.create("nohook", spec));
    expect(f.message).toContain("/no/such/hook");
    expect(f.message).toContain("prestart hook #0");
  });

  test("failing poststart and poststop hooks are only logged", async () => {
    const failing = script("failing-hook2", "exit 1");
    const spec = h.spec(["true"], { cid: "softfail" });
    spec.Hooks = { Poststart: [{ Path: failing }], Poststop: [{ Path: failing }] };
    cids.add("softfail");
    await h.create("softfail", spec);
    await rpc(h.c, "StartContainer", { container_id: "softfail" });
    expect((await rpc(h.c, "WaitProcess", { container_id: "softfail", exec_id: "" })).status).toBe(0);
    await rpc(h.c, "RemoveContainer", { container_id: "softfail", timeout: 5 });
    cids.delete("softfail");
    expect(h.agent.logs()).toContain("poststart hook failed");
    expect(h.agent.logs()).toContain("poststop hook failed");
  });
});
