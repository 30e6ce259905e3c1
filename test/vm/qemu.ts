// Boots a guest under QEMU (TCG: this machine's /dev/kvm is unusable for Debian's kernel), captures
// the serial console, parses VMTEST marker lines, and enforces a hard timeout (QEMU is killed and
// the result says timedOut; a test never hangs on a guest).
//
// Marker lines (anywhere in a console line, so kernel messages cannot hide them):
//   VMTEST <name> ok|fail|skip <detail>   a check
//   VMTEST <key>=<value> [more words]     a fact
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export type Machine = "microvm" | "pc" | "q35";

export interface BootOptions {
  /** microvm: the uncompressed ELF vmlinux; pc: the bzImage. */
  kernel: string;
  initrd: string;
  machine?: Machine;
  /** Extra kernel cmdline words, appended after the defaults (later words win in the kernel). */
  append?: string[];
  timeoutMs: number;
  memoryMiB?: number;
  cpus?: number;
  /** The whole -m value (e.g. "1024M,slots=2,maxmem=2G" for memory hotplug); overrides memoryMiB. */
  memory?: string;
  /** The whole -smp value (e.g. "1,maxcpus=2" for CPU hotplug); overrides cpus. */
  smp?: string;
  /** Where to save the whole console output (for a failing test's post-mortem). */
  consoleLog?: string;
  /** More QEMU arguments (devices, `-M` properties, which QEMU merges with the machine's), appended last. */
  extraArgs?: string[];
  /** Called for every console line as it arrives, with ms since QEMU was started. */
  onLine?: (line: string, ms: number) => void;
}

export interface Check {
  name: string;
  status: "ok" | "fail" | "skip";
  detail: string;
  atMs: number;
}

export interface BootResult {
  argv: string[];
  exitCode: number | null;
  /** True when the hard timeout fired and QEMU was killed. */
  timedOut: boolean;
  lines: { ms: number; text: string }[];
  checks: Map<string, Check>;
  facts: Map<string, { value: string; atMs: number }>;
  /** ms from spawning QEMU to the first VMTEST line, or null if none arrived. */
  firstMarkerMs: number | null;
  totalMs: number;
  kernelPanic: boolean;
}

/** The kernel cmdline words every VM test uses; agent.* are Kata's spellings. */
export const DEFAULT_CMDLINE = [
  "console=ttyS0",
  "rdinit=/pre-init", // our pre-init runs first and execs /sbin/init (the agent)
  "panic=-1", // a dying PID 1 panics the kernel, which then "reboots": with -no-reboot QEMU exits
  "loglevel=4",
  "cgroup_no_v1=all",
  "systemd.unified_cgroup_hierarchy=1",
  "agent.unified_cgroup_hierarchy=1",
  "agent.server_addr=vsock://-1:1024",
  "agent.log=debug",
];

/**
 * The host's TSC rate in kHz, from /proc/cpuinfo ("cpu MHz"), or null. Under TCG the guest's TSC
 * ticks at the host's rate. microvm has no HPET or ACPI PM timer, so the kernel can calibrate the
 * TSC only against the PIT, and under TCG that fails now and then ("tsc: Unable to calibrate
 * against PIT"), after which boot hung silently in about 1 of 6 runs. Telling the kernel the rate
 * (tsc_early_khz) removed the hang: 0 failures in 10 runs.
 */
export function hostTscKhz(): number | null {
  try {
    // Exact when the host kernel exports it; "cpu MHz" is the current clock, close enough for VMs.
    return Number(readFileSync("/sys/devices/system/cpu/cpu0/tsc_freq_khz", "utf8").trim()) || null;
  } catch {}
  try {
    const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return m ? Math.floor(Number(m[1]) * 1000) : null;
  } catch {
    return null;
  }
}

export function qemuArgv(opts: BootOptions): string[] {
  const machine = opts.machine ?? "microvm";
  const tscKhz = machine === "microvm" ? hostTscKhz() : null;
  return [
    "qemu-system-x86_64",
    "-M", machine,
    "-accel", "tcg",
    "-cpu", "max", // Bun needs AVX2 and friends; TCG's default CPU model lacks them
    "-m", opts.memory ?? String(opts.memoryMiB ?? 1024),
    "-smp", opts.smp ?? String(opts.cpus ?? 1),
    "-nographic",
    "-no-reboot",
    "-kernel", opts.kernel,
    "-initrd", opts.initrd,
    "-append", [...DEFAULT_CMDLINE, ...(tscKhz ? [`tsc_early_khz=${tscKhz}`] : []), ...(opts.append ?? [])].join(" "),
    ...(opts.extraArgs ?? []),
  ];
}

const CHECK_RE = /VMTEST ([A-Za-z0-9_.-]+) (ok|fail|skip)(?: (.*))?$/;
const FACT_RE = /VMTEST ([A-Za-z0-9_.-]+)=(\S*)/;

/** Parses one console line into the result's checks/facts; returns true when it held a marker. */
export function parseMarker(text: string, ms: number, into: Pick<BootResult, "checks" | "facts">): boolean {
  const check = CHECK_RE.exec(text);
  if (check) {
    into.checks.set(check[1], { name: check[1], status: check[2] as Check["status"], detail: (check[3] ?? "").trim(), atMs: ms });
    return true;
  }
  const fact = FACT_RE.exec(text);
  if (fact) {
    into.facts.set(fact[1], { value: fact[2], atMs: ms });
    // Extra key=value words on the same line are facts too ("VMTEST a=1 mode=agent").
    for (const m of text.slice(fact.index + fact[0].length).matchAll(/\s([A-Za-z0-9_.-]+)=(\S*)/g)) {
      into.facts.set(m[1], { value: m[2], atMs: ms });
    }
    return true;
  }
  return false;
}

export async function bootVm(opts: BootOptions): Promise<BootResult> {
  const argv = qemuArgv(opts);
  const result: BootResult = {
    argv, exitCode: null, timedOut: false, lines: [], checks: new Map(), facts: new Map(),
    firstMarkerMs: null, totalMs: 0, kernelPanic: false,
  };
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => {
    result.timedOut = true;
    proc.kill("SIGKILL");
  }, opts.timeoutMs);

  const onText = (line: string) => {
    const ms = performance.now() - t0;
    // The serial console ends lines with \r\n; keep the text clean for matching and logs.
    const text = line.replace(/\r/g, "");
    result.lines.push({ ms, text });
    if (parseMarker(text, ms, result) && result.firstMarkerMs === null) result.firstMarkerMs = ms;
    if (text.includes("Kernel panic")) result.kernelPanic = true;
    opts.onLine?.(text, ms);
  };
  const pump = async (stream: ReadableStream<Uint8Array>, prefix: string) => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onText(prefix + pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
    if (pending) onText(prefix + pending);
  };

  try {
    await Promise.all([pump(proc.stdout, ""), pump(proc.stderr, "[qemu stderr] "), proc.exited]);
    result.exitCode = proc.exitCode;
  } finally {
    clearTimeout(timer);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    result.totalMs = performance.now() - t0;
    if (opts.consoleLog) {
      mkdirSync(dirname(opts.consoleLog), { recursive: true });
      const header = `# ${argv.join(" ")}\n# exit=${proc.exitCode} timedOut=${result.timedOut} totalMs=${result.totalMs.toFixed(0)}\n`;
      writeFileSync(opts.consoleLog, header + result.lines.map((l) => `[${(l.ms / 1000).toFixed(3)}] ${l.text}`).join("\n") + "\n");
    }
  }
  return result;
}

/** One line per check and the console tail: what a failing assertion should show. */
export function describeBoot(r: BootResult, tailLines = 40): string {
  const checks = [...r.checks.values()].map((c) => `  ${c.name}: ${c.status} ${c.detail}`).join("\n");
  const tail = r.lines.slice(-tailLines).map((l) => `  | ${l.text}`).join("\n");
  return `exit=${r.exitCode} timedOut=${r.timedOut} panic=${r.kernelPanic} total=${r.totalMs.toFixed(0)}ms\nchecks:\n${checks}\nconsole tail:\n${tail}`;
}
