// Builds dist/kata-agent: one self-contained binary (agent + agent-ctl) with the C launcher and
// the gate program embedded. Run with `bun build.ts` (npm run build).
//   - --bytecode halves start-up time;
//   - ESM with --splitting: each dynamic import() (agent-ctl, the RPC areas, the container
//     machinery) becomes its own chunk inside the binary, loaded when first imported. One CommonJS
//     bundle instead declares every module's top-level functions at start, used or not: ~1.8 ms
//     of `--version` and ~0.9 MiB of idle anonymous memory (docs/PERFORMANCE.md);
//   - the compiled binary must never pick up a .env or bunfig.toml from the directory it runs in
//     (a guest's cwd is /), hence no compile autoloads;
//   - the `long` package is replaced by an empty stub (src/protobuf-no-long.cjs).
import { existsSync, mkdirSync, rmSync, symlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { ensureNative } from "./scripts/build-native.ts";

const root = import.meta.dir;
const dist = join(root, "dist");
const out = join(dist, "kata-agent");

export async function build(): Promise<string> {
  await ensureNative();
  mkdirSync(dist, { recursive: true });
  // The same as `bun build src/main.ts --compile --bytecode --format=esm --splitting
  // --no-compile-autoload-{dotenv,bunfig,tsconfig,package-json}`, plus one thing the CLI cannot
  // do: `long` resolves to src/protobuf-no-long.cjs (why: that file's comment).
  const result = await Bun.build({
    entrypoints: [join(root, "src/main.ts")],
    target: "bun", format: "esm", splitting: true, bytecode: true,
    compile: { outfile: out, autoloadDotenv: false, autoloadBunfig: false, autoloadTsconfig: false, autoloadPackageJson: false },
    plugins: [{
      name: "no-long",
      setup(b) {
        b.onResolve({ filter: /^long$/ }, () => ({ path: join(root, "src/protobuf-no-long.cjs") }));
      },
    }],
    throw: false,
  });
  if (!result.success) throw new Error(`bun build failed:\n${result.logs.map(String).join("\n")}`);
  const ctl = join(dist, "kata-agent-ctl");
  rmSync(ctl, { force: true });
  symlinkSync("kata-agent", ctl);
  return out;
}

if (import.meta.main) {
  const t0 = performance.now();
  const bin = await build();
  const size = statSync(bin).size;
  console.log(`built ${bin} (${(size / 1048576).toFixed(1)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (!existsSync(join(dist, "kata-agent-ctl"))) throw new Error("kata-agent-ctl link missing");
}
