// What the numbers were measured on, stored with every result file.
import { cpus, totalmem } from "node:os";
import { readFileSync, statSync } from "node:fs";

function cmd(argv: string[]): string {
  try {
    const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
    return (p.stdout.toString() || p.stderr.toString()).trim().split("\n")[0] ?? "";
  } catch {
    return "";
  }
}

/** `agentBin` is the run's private copy; `source` where it was copied from. */
export function machineInfo(agentBin: string, source: string, root: string): Record<string, unknown> {
  const os = /PRETTY_NAME="([^"]*)"/.exec(readFileSync("/etc/os-release", "utf8"))?.[1];
  const st = statSync(agentBin);
  return {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: cmd(["uname", "-r"]),
    os,
    bun: Bun.version,
    go: cmd(["go", "version"]),
    runc: cmd(["runc", "--version"]),
    crun: cmd(["crun", "--version"]),
    qemu: cmd(["qemu-system-x86_64", "--version"]),
    gitCommit: cmd(["git", "-C", root, "rev-parse", "--short", "HEAD"]),
    gitDirty: cmd(["git", "-C", root, "status", "--porcelain", "--", "src"]) !== "",
    agentBinary: { copiedFrom: source, bytes: st.size, wyhash: Bun.hash(readFileSync(agentBin)).toString(16) },
  };
}
