// Devices in a real guest (q35, TCG): disks hot-plugged through QMP while the agent waits for
// them — virtio-blk by PCI path (root port at 00:02.0), scsi-hd by SCSI address on virtio-scsi,
// an nvdimm as /dev/pmem0 (fsdax, mounted with dax) — each used by a container both as a storage (blk/scsi/nvdimm driver,
// mounted, its file read through a bind) and as a device (Linux.Devices rewritten to the guest's
// numbers); AddSwap on a hot-plugged swap disk; a hot-added DIMM the agent onlines. The guest half is test/vm/devices-guest.sh; the host plugs each device when the
// agent's log (on the console) says it is waiting for it.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { extractVmlinux, findHostKernel, repoRoot, VSOCK_MODULES, workDir } from "./kernel.ts";
import { buildInitramfs, isStaticElf } from "./initramfs.ts";
import { bootVm, describeBoot } from "./qemu.ts";
import { Qmp } from "./qmp.ts";
import { makeExt4Image, run } from "../fixtures/block-image.ts";
import { missing as lacks } from "../helpers/require.ts";

const kernel = findHostKernel();
const agentBinary = process.env.KATA_AGENT_BIN ?? join(repoRoot, "dist/kata-agent");
const canBoot = !!kernel && ["qemu-system-x86_64", "cpio", "mkfs.ext4", "mkswap"].every((t) => Bun.which(t)) &&
  existsSync("/bin/busybox") && isStaticElf("/bin/busybox") && existsSync(agentBinary);
const DEVICE_MODULES = [
  "virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "crc32c_generic", "ext4", "nfit", "nd_pmem", "nd_btt",
];
const CHECKS = ["agent_check", "blk_pci", "scsi", "nvdimm", "add_swap", "memory_online"];
const BOOT_TIMEOUT_MS = 240_000;

describe.skipIf(lacks({ "VM boot (qemu, kernel, busybox-static, mkfs.ext4, mkswap, dist/kata-agent)": canBoot }))("devices in a q35 guest", () => {
  const dir = join(workDir, "devices");
  afterAll(() => rmSync(join(dir, "disks"), { recursive: true, force: true }));

  test("hot-plugged virtio-blk, scsi-hd, nvdimm: containers read files from the mounted storages and see guest numbers; AddSwap; memory onlined", async () => {
    const disks = join(dir, "disks");
    rmSync(disks, { recursive: true, force: true });
    mkdirSync(disks, { recursive: true });
    const blk = makeExt4Image(disks, "blk.img", 16);
    const scsi = makeExt4Image(disks, "scsi.img", 16);
    // The nvdimm's backing file: the guest turns its namespace into fsdax (devices-guest.sh), which
    // puts the data 2 MiB in (the PFN info block and page map come first), so the ext4 (4 KiB
    // blocks, as DAX needs) is written there.
    const pmem = join(disks, "pmem.img");
    run(["truncate", "-s", "64M", pmem]);
    run(["dd", `if=${makeExt4Image(disks, "pmem-fs.img", 62, 4096)}`, `of=${pmem}`, "bs=1M", "seek=2", "conv=notrunc", "status=none"]);
    const swap = join(disks, "swap.img");
    run(["truncate", "-s", "32M", swap]);
    run(["mkswap", swap]);
    const qmpPath = join(dir, "qmp.sock");
    rmSync(qmpPath, { force: true });
    const initramfs = buildInitramfs({
      agent: agentBinary, kernel: kernel!, outDir: join(dir, "initramfs"), gzipLevel: 0,
      modules: [...VSOCK_MODULES, ...DEVICE_MODULES], guestScript: join(import.meta.dir, "devices-guest.sh"),
    });
    let qmp: Qmp | undefined;
    const plugged: string[] = [];
    const actions: Promise<void>[] = [];
    const plug = (what: string, steps: [string, Record<string, unknown>][]) => {
      if (plugged.includes(what)) return;
      plugged.push(what);
      actions.push((async () => {
        qmp ??= await Qmp.connect(qmpPath);
        for (const [cmd, args] of steps) await qmp.run(cmd, args);
      })());
    };
    const raw = (node: string, file: string) => ["blockdev-add", { driver: "raw", "node-name": node, file: { driver: "file", filename: file } }] as [string, Record<string, unknown>];
    const r = await bootVm({
      kernel: extractVmlinux(kernel!),
      initrd: initramfs.initrd,
      machine: "q35",
      cpus: 2,
      timeoutMs: BOOT_TIMEOUT_MS,
      // KATA_AGENT_SWAPON: init's environment (the kernel passes unknown KEY=VALUE words); busybox
      // has swapon in /bin here.
      append: ["agent.hotplug_timeout=100", "KATA_AGENT_SWAPON=/bin/swapon"],
      extraArgs: [
        "-net", "none",
        "-machine", "nvdimm=on",
        "-m", "1024,slots=2,maxmem=3G",
        "-qmp", `unix:${qmpPath},server=on,wait=off`,
        "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1,addr=0x2",
        "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2,addr=0x3",
        "-device", "pcie-root-port,id=rp3,bus=pcie.0,chassis=3,slot=3,addr=0x4",
        "-device", "virtio-scsi-pci,id=scsi0,bus=rp2",
        "-object", `memory-backend-file,id=nv1,share=on,mem-path=${pmem},size=64M`,
        "-device", "nvdimm,memdev=nv1,id=nvdimm1",
      ],
      consoleLog: join(dir, "console.log"),
      onLine: (text) => {
        if (text.includes('"waiting for device"')) {
          if (text.includes("PCI path 02/00")) plug("blk", [raw("disk1", blk), ["device_add", { driver: "virtio-blk-pci", id: "vblk1", bus: "rp1", drive: "disk1" }]]);
          if (text.includes("SCSI disk 1:2")) plug("scsi", [raw("disk2", scsi), ["device_add", { driver: "scsi-hd", id: "sd1", bus: "scsi0.0", channel: 0, "scsi-id": 1, lun: 2, drive: "disk2" }]]);
          if (text.includes("PCI path 04/00")) plug("swap", [raw("disk3", swap), ["device_add", { driver: "virtio-blk-pci", id: "vblk2", bus: "rp3", drive: "disk3" }]]);
        }
        // The nvdimm takes the first 64 MiB of the hot-plug area: place the DIMM on a 128 MiB
        // (memory block) boundary, or the guest refuses it ("unaligned hotplug range").
        if (text.includes("VMTEST hotplug_memory=ready")) {
          plug("memory", [["object-add", { "qom-type": "memory-backend-ram", id: "mem1", size: 128 << 20 }], ["device_add", { driver: "pc-dimm", id: "dimm1", memdev: "mem1", addr: 0x108000000 }]]);
        }
      },
    });
    qmp?.close();
    const qmpErrors = (await Promise.allSettled(actions)).filter((a) => a.status === "rejected").map((a) => String((a as PromiseRejectedResult).reason));
    const summary = CHECKS.map((c) => `${c}: ${r.checks.get(c)?.status ?? "missing"} ${r.checks.get(c)?.detail ?? ""}`).join("\n  ");
    console.log(`[vm devices] plugged ${plugged.join(", ")} in ${(r.totalMs / 1000).toFixed(1)} s\n  ${summary}`);
    expect(qmpErrors).toEqual([]);
    for (const c of CHECKS) {
      if (r.checks.get(c)?.status !== "ok") throw new Error(`check ${c} not ok\n${describeBoot(r, 60)}`);
    }
    expect(plugged.sort()).toEqual(["blk", "memory", "scsi", "swap"]);
    expect(r.facts.get("devices_guest_done")?.value).toBe("1");
  }, BOOT_TIMEOUT_MS + 60_000);

  test("vfio-pci: a device behind the emulated VT-d is bound to vfio-pci; the container gets /dev/vfio/<group> and the guest PCI address", async () => {
    const initramfs = buildInitramfs({
      agent: agentBinary, kernel: kernel!, outDir: join(dir, "initramfs-vfio"), gzipLevel: 0,
      modules: [...VSOCK_MODULES, "virtio_pci", "vfio_pci", "vfio_iommu_type1"], guestScript: join(import.meta.dir, "devices-guest.sh"),
    });
    const r = await bootVm({
      kernel: extractVmlinux(kernel!),
      initrd: initramfs.initrd,
      machine: "q35",
      cpus: 2,
      timeoutMs: BOOT_TIMEOUT_MS,
      append: ["intel_iommu=on", "vmtest.devices=vfio"],
      extraArgs: [
        "-net", "none",
        "-device", "intel-iommu", // before the PCI devices it translates for
        "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1,addr=0x2",
        "-device", "edu,bus=rp1", // QEMU's teaching device: no guest driver claims it
      ],
      consoleLog: join(dir, "console-vfio.log"),
    });
    console.log(`[vm devices] vfio boot ${(r.totalMs / 1000).toFixed(1)} s: ${r.checks.get("vfio")?.status} ${r.checks.get("vfio")?.detail ?? ""}`);
    if (r.checks.get("vfio")?.status !== "ok") throw new Error(`check vfio not ok\n${describeBoot(r, 60)}`);
    expect(r.facts.get("devices_guest_done")?.value).toBe("1");
  }, BOOT_TIMEOUT_MS + 60_000);
});
