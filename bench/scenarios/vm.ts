// 8. VM: the figures a pod VM feels, under QEMU TCG with the VM harness of test/vm, for the three
// Kata boot forms: initrd (microvm), rootfs image as a virtio-blk root and as an NVDIMM/DAX root
// (q35, read-only, as Kata's runtime boots them; a loader initrd loads Debian's modular drivers).
// For each form, in the same run and interleaved, the agent's guest and a busybox-init guest booted
// the same way (same kernel, machine, modules, memory) as the anchor:
//   - QEMU start → the first Health.Check answered, sent in the guest by a static C client
//     (test/vm/check-client.c, ~1 ms to start; it polls every 5 ms) over vsock loopback, vs the
//     busybox guest's "ready" line (its init has mounted and loaded the modules);
//   - guest RAM the agent costs: MemAvailable in the busybox guest − in the agent's guest, each
//     read in the guest right after ready / the first Check.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import type { Row } from "../lib/report.ts";
import { median } from "../lib/stats.ts";
import { buildFloorServer } from "../lib/floor.ts";

type Form = "initrd" | "blk" | "dax";
const FORMS: Form[] = ["initrd", "blk", "dax"];
const LABEL: Record<Form, string> = { initrd: "initrd", blk: "image, virtio-blk", dax: "image, NVDIMM DAX" };

interface Sample {
  readyMs: number;
  /** QEMU start → the agent's root is there: pre-init's first line (initrd), the loader's root mount (image). */
  rootMs: number | null;
  memAvailableKb: number;
  /** The guest's meminfo parts (mi_*_kb) and, for the agent, PID 1's RSS by kind (agent_*_kb). */
  memory: Record<string, number>;
}

function vmMissing(): string | null {
  for (const tool of ["qemu-system-x86_64", "cpio", "sfdisk", "mkfs.ext4", "cc"]) if (!Bun.which(tool)) return `${tool} not installed`;
  if (!existsSync(join(import.meta.dir, "../../test/vm/qemu.ts"))) return "test/vm harness missing";
  return null;
}

const naRow = (id: string, what: string, unit: string, na: string): Row => ({ id, what, unit, value: null, anchor: null, anchorName: "", na });

export async function vmRows(ctx: BenchContext): Promise<Row[]> {
  const missing = vmMissing();
  if (missing) return [naRow("vm_check_initrd", "VM: QEMU start → first Check (TCG)", "ms", missing)];
  // Imported lazily: the harness is another area's code and may change shape; a failure to load
  // it becomes this scenario's "failed: …" row, not a failed benchmark run.
  const { findHostKernel, extractVmlinux } = await import("../../test/vm/kernel.ts");
  const { buildInitramfs } = await import("../../test/vm/initramfs.ts");
  const { bootVm } = await import("../../test/vm/qemu.ts");
  const img = await import("../../test/vm/image.ts");
  const kernel = findHostKernel();
  if (!kernel) return [naRow("vm_check_initrd", "VM: QEMU start → first Check (TCG)", "ms", "no /boot/vmlinuz-* with modules")];
  const dir = join(ctx.work, "vm");
  const vmlinux = extractVmlinux(kernel);

  ctx.progress("vm: building the initrd, the rootfs image, the busybox guests and the loaders");
  const client = img.compileCheckClient(join(dir, "check-client"));
  const agentFiles = {
    agent: ctx.agentBin,
    kernel,
    guestScript: join(import.meta.dir, "../../test/vm/boot-guest.sh"),
    extraFiles: { "vmtest/check-client": client },
    gzipLevel: 0,
  };
  const agentInitrd = buildInitramfs({ ...agentFiles, outDir: join(dir, "initrd") });
  const agentImage = buildInitramfs({ ...agentFiles, outDir: join(dir, "image"), image: join(dir, "kata-containers.img") });
  // Bun's own floor in the DAX form: the same image with a minimal Bun Check server as the agent
  // (bench/floor/check-server.ts), so the row can say what any Bun program costs under TCG.
  const floorImage = buildInitramfs({ ...agentFiles, agent: buildFloorServer(ctx.work), outDir: join(dir, "image-floor"), image: join(dir, "floor.img") });
  const busyboxInitrd = img.buildBusyboxInitrd(kernel, dir);
  const busyboxImage = img.buildBusyboxImage(dir);
  const loaders = { blk: img.buildLoaderInitrd(kernel, "blk", dir), dax: img.buildLoaderInitrd(kernel, "dax", dir) };

  const agentWords = ["vmtest.mode=agent", "vmtest.bench=1", "vmtest.wait=150", "agent.log=info"];
  type Guest = "agent" | "busybox" | "floor";
  const boot = async (form: Form, guest: Guest, i: number): Promise<Sample> => {
    const consoleLog = join(dir, `console-${form}-${guest}-${i}.log`);
    const common = { kernel: vmlinux, cpus: 2, timeoutMs: 180_000, consoleLog };
    const r =
      form === "initrd"
        ? await bootVm({ ...common, machine: "microvm", initrd: guest === "agent" ? agentInitrd.initrd : busyboxInitrd, append: guest === "agent" ? agentWords : [] })
        : await (async () => {
            const how = img.imageBoot(form, guest === "agent" ? agentImage.initrd : guest === "floor" ? floorImage.initrd : busyboxImage, loaders[form]);
            const words = guest === "busybox" ? [] : [...agentWords, "vmtest.script=/vmtest/guest-test.sh"];
            return bootVm({ ...common, ...how, append: [...how.append!, ...words] });
          })();
    const ready = guest === "busybox" ? r.facts.get("busybox_ready_uptime") : r.checks.get("agent_check");
    const mem = Number(r.facts.get("mem_available_kb")?.value);
    if (!ready || (guest !== "busybox" && r.checks.get("agent_check")?.status !== "ok") || !mem) {
      throw new Error(`${form} ${guest} boot ${i}: no ready marker with memory (timedOut=${r.timedOut}); console in ${consoleLog}`);
    }
    const memory: Record<string, number> = {};
    for (const [k, v] of r.facts) if (/^(mi|agent)_.*_kb$/.test(k)) memory[k] = Number(v.value);
    const root = r.facts.get(form === "initrd" ? "preinit_uptime" : "root_mounted_uptime")?.atMs ?? null;
    return { readyMs: ready.atMs, rootMs: root, memAvailableKb: mem, memory };
  };

  const samples = new Map<string, Sample[]>();
  const n = pick(ctx, 1, 3);
  for (let i = 0; i < n; i++) {
    for (const form of FORMS) {
      for (const guest of (form === "dax" ? ["busybox", "agent", "floor"] : ["busybox", "agent"]) as Guest[]) {
        ctx.progress(`vm: ${form} ${guest} boot ${i + 1}/${n}`);
        const key = `${form}/${guest}`;
        samples.set(key, [...(samples.get(key) ?? []), await boot(form, guest, i)]);
      }
    }
  }

  const rows: Row[] = [];
  for (const form of FORMS) {
    const agent = samples.get(`${form}/agent`)!;
    const busybox = samples.get(`${form}/busybox`)!;
    const bytes = form === "initrd" ? agentInitrd.bytes : agentImage.bytes;
    rows.push({
      id: `vm_check_${form}`,
      what: `VM (${LABEL[form]}): QEMU start → first Check`,
      unit: "ms",
      value: median(agent.map((s) => s.readyMs)),
      anchor: median(busybox.map((s) => s.readyMs)),
      anchorName: `busybox-init VM, same boot (${LABEL[form]})`,
      target: { kind: "ratio", better: "lower", limit: 1.15 },
      note: `static C client in the guest over vsock loopback; ${form === "initrd" ? "microvm" : "q35"}, 2 vCPU, 1 GiB, TCG; ${form === "initrd" ? "initrd" : "image"} ${(bytes / 2 ** 20).toFixed(0)} MiB`,
      // rootMs: where the boot was when the agent's root existed (the initrd unpacked / the image
      // mounted), so the gap splits into "getting the files" and "the agent starting".
      detail: { agentMs: agent.map((s) => s.readyMs), busyboxMs: busybox.map((s) => s.readyMs), agentRootMs: agent.map((s) => s.rootMs), busyboxRootMs: busybox.map((s) => s.rootMs) },
    });
    const floor = samples.get(`${form}/floor`);
    if (floor) {
      rows.push({
        id: `vm_check_${form}_bun_floor`,
        what: `  same boot, a minimal Bun Check server in the agent's place`,
        unit: "ms",
        value: median(floor.map((s) => s.readyMs)),
        anchor: median(busybox.map((s) => s.readyMs)),
        anchorName: `busybox-init VM, same boot (${LABEL[form]})`,
        note: "bench/floor/check-server.ts as PID 1 through the same shim: what any Bun program costs here; the agent's row minus this one is the agent's own start",
        detail: { floorMs: floor.map((s) => s.readyMs), floorRootMs: floor.map((s) => s.rootMs) },
      });
    }
    const costMiB = busybox.map((b, i) => (b.memAvailableKb - agent[i]!.memAvailableKb) / 1024);
    rows.push({
      id: `vm_mem_${form}`,
      what: `VM (${LABEL[form]}): guest RAM the agent costs (MemAvailable, busybox VM − agent VM)`,
      unit: "MiB",
      value: median(costMiB),
      anchor: null,
      anchorName: "",
      // The target is for the DAX image: the binary's pages come from the host there.
      target: form === "dax" ? { kind: "absolute", better: "lower", limit: 12 } : undefined,
      note:
        form === "initrd"
          ? "the initrd's files stay in guest RAM (the agent binary included)"
          : form === "blk"
            ? "the binary is read through the guest's page cache (MemAvailable counts clean cache as available)"
            : "DAX: file pages map the host's image; the memmap for the NVDIMM (64 B per 4 KiB) is in guest RAM",
      detail: {
        // MemFree's difference too: with no page cache on either side (DAX) it is the plainer figure.
        memFreeCostMiB: busybox.map((b, i) => ((b.memory.mi_memfree_kb ?? NaN) - (agent[i]!.memory.mi_memfree_kb ?? NaN)) / 1024),
        agentMemAvailableKb: agent.map((s) => s.memAvailableKb),
        busyboxMemAvailableKb: busybox.map((s) => s.memAvailableKb),
        agentMemory: agent.map((s) => s.memory),
        busyboxMemory: busybox.map((s) => s.memory),
      },
    });
    // The agent's own resident set in the guest: the direct figure next to the MemAvailable
    // difference, which at a few MiB is within the guests' noise (per-CPU page lists, slab).
    const kb = (key: string) => median(agent.map((s) => s.memory[key] ?? NaN));
    rows.push({
      id: `vm_rss_${form}`,
      what: `VM (${LABEL[form]}): the agent's RSS in the guest after the first Check`,
      unit: "MiB",
      value: kb("agent_rss_kb") / 1024,
      anchor: null,
      anchorName: "",
      note: `anon ${(kb("agent_rssanon_kb") / 1024).toFixed(1)} MiB, file ${(kb("agent_rssfile_kb") / 1024).toFixed(1)} MiB, shmem ${(kb("agent_rssshmem_kb") / 1024).toFixed(1)} MiB (from /proc/1/status)`,
    });
  }
  return rows;
}
