// Issue 14 #2: a cgroupsPath naming a cgroup the agent did not create (someone else's, or the
// agent's own) is refused with ALREADY_EXISTS: its device rules and limits stay untouched and
// nothing in it is frozen or killed.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { grpc } from "../../src/gen/index.ts";
import { cgroupDirs, Code, failure, isRoot, rpc, useHarness, type Harness } from "./containers-harness.ts";

let h: Harness;
const cids = new Set<string>();
// Not cpuset: a cpuset cgroup made by hand has no cpus, and the harness's prefix must stay usable.
const HIERARCHIES = ["memory", "pids", "cpu", "devices", "freezer", "blkio", "cpuacct"];

function create(cid: string, cgroupsPath: string) {
  cids.add(cid);
  const s = h.spec(["sleep", "100"], { cid }) as grpc.ISpec;
  s.Linux!.CgroupsPath = cgroupsPath;
  return rpc(h.c, "CreateContainer", { container_id: cid, exec_id: "", OCI: s });
}

describe.skipIf(!isRoot)("cgroupsPath never adopts a cgroup the agent did not create", () => {
  useHarness(cids, (x) => {
    h = x;
  });

  test("an existing cgroup (made by someone else) → ALREADY_EXISTS; its settings are untouched", async () => {
    const rel = `${h.cgroupPrefix}/foreign`;
    const made: string[] = [];
    for (const c of HIERARCHIES) {
      if (!existsSync(join("/sys/fs/cgroup", c))) continue;
      const parent = join("/sys/fs/cgroup", c, h.cgroupPrefix);
      if (!existsSync(parent)) {
        mkdirSync(parent);
        made.push(parent);
      }
      mkdirSync(join(parent, "foreign"));
      made.push(join(parent, "foreign"));
    }
    const pidsDir = join("/sys/fs/cgroup/pids", rel);
    writeFileSync(join(pidsDir, "pids.max"), "7");
    const devicesBefore = readFileSync(join("/sys/fs/cgroup/devices", rel, "devices.list"), "utf8");
    try {
      const f = await failure(create("adopt", `/${rel}`));
      expect(Code[f.code]).toBe("ALREADY_EXISTS");
      expect(f.message).toContain(rel);
      expect(readFileSync(join(pidsDir, "pids.max"), "utf8").trim()).toBe("7");
      expect(readFileSync(join("/sys/fs/cgroup/devices", rel, "devices.list"), "utf8")).toBe(devicesBefore);
      for (const d of made) expect(existsSync(d)).toBe(true);
      expect(readFileSync(join(pidsDir, "cgroup.procs"), "utf8")).toBe("");
    } finally {
      for (const d of made.reverse()) rmdirSync(d);
    }
  });

  test("a cgroup existing in one hierarchy only → ALREADY_EXISTS, and what the create made in the others is taken back", async () => {
    // The refusal comes from the leaf's mkdir in each hierarchy in turn, so the hierarchies
    // before the one that has it already got new directories: none may stay behind.
    const rel = `${h.cgroupPrefix}/partly/foreign`;
    for (const c of ["freezer", "pids"]) {
      const foreign = join("/sys/fs/cgroup", c, rel);
      const prefix = join("/sys/fs/cgroup", c, h.cgroupPrefix);
      const prefixExisted = existsSync(prefix);
      mkdirSync(foreign, { recursive: true });
      try {
        const f = await failure(create(`partly-${c}`, `/${rel}`));
        expect(Code[f.code]).toBe("ALREADY_EXISTS");
        expect(f.message).toContain(foreign);
        // Only the foreign directory and the levels above it that the test made are left.
        expect(cgroupDirs(rel)).toEqual([foreign]);
        expect(cgroupDirs(`${h.cgroupPrefix}/partly`)).toEqual([join(prefix, "partly")]);
      } finally {
        rmdirSync(foreign);
        rmdirSync(join(prefix, "partly"));
        if (!prefixExisted) rmdirSync(prefix);
      }
    }
  });

  test("the agent's own cgroup → ALREADY_EXISTS, and the agent keeps answering", async () => {
    const own = readFileSync(`/proc/${h.pid}/cgroup`, "utf8").split("\n")
      .map((l) => l.split(":")).find((f) => f.length === 3 && f[1] !== "" && !f[1]!.startsWith("name=") && f[2] !== "/")?.[2];
    // Put the agent in a cgroup of its own when it sits at the root of every hierarchy.
    let moved: string | undefined;
    let path = own;
    if (!path) {
      moved = join("/sys/fs/cgroup/pids", h.cgroupPrefix, "agent");
      mkdirSync(moved, { recursive: true });
      writeFileSync(join(moved, "cgroup.procs"), String(h.pid));
      path = `/${h.cgroupPrefix}/agent`;
    }
    try {
      const f = await failure(create("self", path));
      expect(Code[f.code]).toBe("ALREADY_EXISTS");
      const r = await failure(rpc(h.c, "RemoveContainer", { container_id: "self", timeout: 2 }));
      expect(r.code).toBe(Code.INVALID_ARGUMENT); // no such container: nothing frozen or killed
      expect(h.agent.proc.exitCode).toBeNull();
    } finally {
      if (moved) {
        writeFileSync("/sys/fs/cgroup/pids/cgroup.procs", String(h.pid));
        rmdirSync(moved);
      }
    }
  });

  test("a new cgroup is still fine, and removed with the container", async () => {
    await create("fresh", `/${h.cgroupPrefix}/fresh`);
    expect(cgroupDirs(`${h.cgroupPrefix}/fresh`).length).toBeGreaterThan(0);
    await rpc(h.c, "RemoveContainer", { container_id: "fresh", timeout: 5 });
    cids.delete("fresh");
    expect(cgroupDirs(`${h.cgroupPrefix}/fresh`)).toEqual([]);
  });
});

test("mayKillForContainer: never pid 1, the agent itself or its ancestors", async () => {
  const { mayKillForContainer } = await import("../../src/sys/proc.ts");
  expect(mayKillForContainer(1)).toBe(false);
  expect(mayKillForContainer(0)).toBe(false);
  expect(mayKillForContainer(process.pid)).toBe(false);
  expect(mayKillForContainer(process.ppid)).toBe(false);
  const child = Bun.spawn(["sleep", "5"]);
  try {
    expect(mayKillForContainer(child.pid)).toBe(true);
  } finally {
    child.kill(9);
  }
});
