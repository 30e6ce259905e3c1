// Compiles the stand-in agent (standin.ts) into a self-contained binary, the same way build.ts
// compiles the real agent, so the VM pipeline is exercised with the same kind of executable.
import { mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

export const standinSource = join(import.meta.dir, "standin.ts");

export function compileStandin(outFile: string): string {
  mkdirSync(dirname(outFile), { recursive: true });
  const p = Bun.spawnSync(
    [
      process.execPath, "build", standinSource, "--compile",
      "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
      "--outfile", outFile,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (p.exitCode !== 0) throw new Error(`compiling the stand-in failed:\n${p.stderr.toString()}${p.stdout.toString()}`);
  if (!(statSync(outFile).mode & 0o111)) throw new Error(`${outFile} is not executable`);
  return outFile;
}
