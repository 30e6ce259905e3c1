// Manual driver: build an initramfs around an agent binary and boot it once, printing the console.
//   bun test/vm/run.ts [--agent PATH | --standin] [--machine microvm|pc] [--cpus N] [--timeout S] [-- extra cmdline words]
// The agent boot gets the same debug-console and log-vport settings as vm.test.ts.
import { join } from "node:path";
import { extractVmlinux, findHostKernel, workDir } from "./kernel.ts";
import { buildInitramfs } from "./initramfs.ts";
import { bootVm, describeBoot, type Machine } from "./qemu.ts";
import { compileStandin } from "./standin/build.ts";

const args = process.argv.slice(2);
const dash = args.indexOf("--");
const extra = dash >= 0 ? args.splice(dash).slice(1) : [];
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const kernel = findHostKernel();
if (!kernel) throw new Error("no /boot/vmlinuz-* with matching /lib/modules");
const machine = (opt("--machine") ?? "microvm") as Machine;
const standin = args.includes("--standin") || !opt("--agent");
const agent = standin ? compileStandin(join(workDir, "standin/kata-agent-standin")) : opt("--agent")!;
const initramfs = buildInitramfs({ agent, kernel, outDir: join(workDir, "manual"), gzipLevel: 0 });
console.log(`initrd ${initramfs.initrd}: ${(initramfs.bytes / 1048576).toFixed(1)} MiB, built in ${initramfs.buildMs.toFixed(0)} ms`);
const agentWords = ["vmtest.mode=agent", "agent.debug_console", "agent.debug_console_vport=1026", "agent.log_vport=1025"];
const r = await bootVm({
  kernel: machine === "microvm" ? extractVmlinux(kernel) : kernel.bzImage,
  initrd: initramfs.initrd,
  machine,
  cpus: Number(opt("--cpus") ?? 2),
  timeoutMs: Number(opt("--timeout") ?? 120) * 1000,
  append: [...(standin ? ["vmtest.mode=standin"] : agentWords), ...extra],
  consoleLog: join(workDir, "manual/console.log"),
  onLine: (line, ms) => console.log(`[${(ms / 1000).toFixed(2)}] ${line}`),
});
console.log(describeBoot(r, 0));
console.log(`first marker ${r.firstMarkerMs?.toFixed(0)} ms, first Check ${r.checks.get("agent_check")?.atMs.toFixed(0)} ms, total ${r.totalMs.toFixed(0)} ms`);
