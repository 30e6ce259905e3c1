// Builds dist/kata-agent: one self-contained binary (agent + agent-ctl) with the C launcher and
// the gate program embedded. Run with `bun build.ts` (npm run build).
//   - --bytecode halves start-up time;
//   - ESM with --splitting: each dynamic import() (agent-ctl, the RPC areas, the container
//     machinery) becomes its own chunk inside the binary, loaded when first imported. One CommonJS
//     bundle instead declares every module's top-level functions at start, used or not: ~1.8 ms
//     of `--version` and ~0.9 MiB of idle anonymous memory (docs/PERFORMANCE.md);
//   - the compiled binary must never pick up a .env or bunfig.toml from the directory it runs in
//     (a guest's cwd is /), hence --no-compile-autoload-*.
import { existsSync, mkdirSync, rmSync, symlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { ensureNative } from "./scripts/build-native.ts";

const root = import.meta.dir;
const dist = join(root, "dist");
const out = join(dist, "kata-agent");

export async function build(): Promise<string> {
  await ensureNative();
  mkdirSync(dist, { recursive: true });
  const args = [
    "build", join(root, "src/main.ts"),
    "--compile", "--bytecode", "--format=esm", "--splitting",
    "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
    "--no-compile-autoload-tsconfig", "--no-compile-autoload-package-json",
    "--outfile", out,
  ];
  const p = Bun.spawnSync([process.execPath, ...args], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) throw new Error(`bun build failed (exit ${p.exitCode})`);
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
