// The floors some rows are read against (bench/floor/): a minimal Bun Check server, compiled
// the way build.ts compiles the agent, and a C program that spawns a process and waits for it.
// Built into the run's work directory on first use.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const floorDir = join(import.meta.dir, "../floor");

function run(cmd: string[]): void {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${p.exitCode}):\n${p.stdout}${p.stderr}`);
}

/** bench/floor/check-server.ts as a compiled binary (bytecode, ESM: the agent's build options). */
export function buildFloorServer(work: string): string {
  const out = join(work, "floor", "check-server");
  mkdirSync(join(work, "floor"), { recursive: true });
  run([process.execPath, "build", "--compile", "--bytecode", "--format", "esm", join(floorDir, "check-server.ts"), "--outfile", out]);
  return out;
}

/** bench/floor/spawn-true.c, compiled with the system's C compiler. */
function buildSpawnTrue(work: string): string {
  const out = join(work, "floor", "spawn-true");
  mkdirSync(join(work, "floor"), { recursive: true });
  run(["cc", "-O2", "-o", out, join(floorDir, "spawn-true.c")]);
  return out;
}

/** p50 in ms of `runs` spawns of `program` and waits for it, in new namespaces when `ns`.
 *  Throws with the program's stderr when it fails (the scenario's row then says "failed"). */
export function spawnFloorMs(work: string, runs: number, program: string, ns = false): number {
  const out = Bun.spawnSync([buildSpawnTrue(work), String(runs), program, ...(ns ? ["ns"] : [])], { stdout: "pipe", stderr: "pipe" });
  if (out.exitCode !== 0) throw new Error(`spawn-true failed (exit ${out.exitCode}): ${out.stderr}`);
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { p50_us: number }).p50_us / 1000;
}
