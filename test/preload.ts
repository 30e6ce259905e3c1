// bun test preload: make sure the native parts and the agent binary exist and are newer than
// their sources, so `bun test` works on a clean checkout. Integration tests run dist/kata-agent.
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

// The C launcher and the gate are needed by every test that starts a process; cheap when fresh.
const { ensureNative } = await import("../scripts/build-native.ts");
await ensureNative();

// Only tests that start the agent binary need it rebuilt: a run of unit tests alone (paths all
// under test/unit) does not wait for `bun build --compile`.
const paths = process.argv.slice(1).filter((a) => !a.startsWith("-"));
const unitOnly = paths.length > 0 && paths.every((a) => a.includes("test/unit/"));

const bin = join(root, "dist/kata-agent");
const stale =
  !existsSync(bin) ||
  statSync(bin).mtimeMs < Math.max(newestMtime(join(root, "src")), statSync(join(root, "build.ts")).mtimeMs, statSync(join(root, "package.json")).mtimeMs);
if (stale && !unitOnly && process.env.KATA_TEST_NO_BUILD !== "1") {
  const { build } = await import("../build.ts");
  await build();
}
