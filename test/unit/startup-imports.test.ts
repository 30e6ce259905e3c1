// What the agent evaluates before "agent ready": the static import graph of src/main.ts, which
// imports src/agent.ts statically (`import` statements; dynamic import() and require() inside
// functions load on first use).
// Start-up time is module evaluation (docs/PERFORMANCE.md: start-to-ready), so the areas that
// only serve RPCs — containers, network, storage, devices, metrics, pod namespaces — and the
// protobuf runtime with the generated types must stay out of it.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = join(import.meta.dir, "../..");
const transpiler = new Bun.Transpiler({ loader: "ts" });

function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    const key = relative(root, file);
    if (seen.has(key)) return;
    seen.add(key);
    for (const imp of transpiler.scanImports(readFileSync(file, "utf8"))) {
      if (imp.kind !== "import-statement") continue;
      if (!imp.path.startsWith(".")) {
        seen.add(imp.path);
        continue;
      }
      const target = resolve(dirname(file), imp.path);
      if (/\.(ts|js)$/.test(target) && existsSync(target)) visit(target);
    }
  };
  visit(join(root, entry));
  return seen;
}

describe("start-up imports", () => {
  const graph = staticGraph("src/main.ts");

  test("the graph is what the start-up needs (sanity: the server, config and logger are in it)", () => {
    for (const f of ["src/agent.ts", "src/ttrpc/server.ts", "src/config/index.ts", "src/log/logger.ts", "src/services/boot.ts"]) expect(graph.has(f)).toBe(true);
  });

  test("no RPC-only area and no protobuf runtime is evaluated before ready", () => {
    // src/container/id.ts (id validation, a few lines) is the sandbox's; the rest of container/ is lazy.
    const lazyOnly = [/^src\/container\/(?!id\.ts$)/, /^src\/(network|storage|device|metrics\/collect|sandbox\/pod-namespaces|cgroups\/manager|process)\b/,
      /^src\/services\/(register|containers|network|storage|devices|metrics|sandbox|guest|resources)\.ts$/, /^src\/gen\//, /^protobufjs/,
      // The other modes of the binary: agent-ctl and vsock-cat load only when chosen.
      /^src\/(ctl|tools)\//];
    const eager = [...graph].filter((f) => lazyOnly.some((re) => re.test(f)));
    expect(eager).toEqual([]);
  });

  test("node:fs, node:path and valibot are not loaded before ready (standalone agent)", () => {
    // Loading node:fs is ~0.75 ms of start-to-ready, valibot and the config schemas ~0.6 ms
    // (docs/PERFORMANCE.md): the start-up path reads its files through src/sys/file.ts and the
    // TOML reader settles plain values without valibot. Besides the static graph, the modules
    // loaded on the way to "ready": the uevent listener (armed). The TOML reader is in the
    // static graph.
    expect(graph.has("src/config/toml.ts")).toBe(true);
    const early = [graph, staticGraph("src/device/uevent-listener.ts")];
    const loaders = early.flatMap((g) => [...g]).filter((f) => f === "node:fs" || f === "node:path" || f === "valibot");
    expect(loaders).toEqual([]);
  });
});
