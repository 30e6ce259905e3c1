// Shared by the real-cgroup tests (cgroups-v1, cgroups-v2): shell processes to move between
// cgroups, reading their first output line, and cleanup of what a test left behind.
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

type Shell = Subprocess<"pipe", "pipe", "inherit">;

/** `sh -c script` processes of one test file; killAll() kills and reaps them (afterEach). */
export class Shells {
  private readonly procs: Shell[] = [];

  spawn(script: string): Shell {
    const p = Bun.spawn(["sh", "-c", script], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    this.procs.push(p);
    return p;
  }

  async killAll(): Promise<void> {
    for (const p of this.procs.splice(0)) {
      p.kill("SIGKILL");
      await p.exited;
    }
  }
}

export async function firstLine(p: Shell): Promise<string> {
  const reader = p.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text.trim();
}

/** Releases a script waiting in `read x`. */
export function go(p: Shell): void {
  p.stdin.write("go\n");
  p.stdin.flush();
}

/** The one-letter state from /proc/PID/status (R, S, D, …). */
export function procState(pid: number): string {
  return /State:\s+(\S)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!;
}

/** rmdir a cgroup tree bottom-up (cgroup directories are removed with rmdir, not rm -r). */
export function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name));
  rmdirSync(dir);
}
