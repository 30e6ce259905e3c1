// DeviceFinder and the CreateContainer device rewrite on fake sysfs + /dev trees (root: mknod).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { DeviceFinder, splitDevT } from "../../src/device/devices.ts";
import { UeventHub } from "../../src/device/uevent.ts";
import { GuestDeviceResolver } from "../../src/device/resolve.ts";
import { applyDeviceUpdates, resolveDevices, updateEnvPci, type DeviceSpec } from "../../src/device/spec-devices.ts";
import { parsePciAddress } from "../../src/device/pci.ts";
import { specWithGuestDevices } from "../../src/device/container-devices.ts";

const root = mkdtempSync(join(tmpdir(), "fake-dev-"));
const sys = join(root, "sys");
const dev = join(root, "dev");
afterAll(() => rmSync(root, { recursive: true, force: true }));

function sysDir(devpath: string, uevent = "") {
  mkdirSync(join(sys, devpath), { recursive: true });
  writeFileSync(join(sys, devpath, "uevent"), uevent);
}
function mknod(name: string, type: "b" | "c", major: number, minor: number) {
  mkdirSync(dirname(join(dev, name)), { recursive: true });
  const r = Bun.spawnSync(["mknod", join(dev, name), type, String(major), String(minor)]);
  if (r.exitCode !== 0) throw new Error(`mknod failed: ${r.stderr}`);
}
const blockEv = (devpath: string, devname: string) => ({ action: "add", devpath, devname, subsystem: "block", seqnum: "9", interface: "" });

// A q35-like tree: root ports at 02 (bus 01) and 03 (bus 02); a SCSI host behind 03.
mkdirSync(join(sys, "devices/pci0000:00/0000:00:02.0/pci_bus/0000:01"), { recursive: true });
mkdirSync(join(sys, "devices/pci0000:00/0000:00:03.0/pci_bus/0000:02"), { recursive: true });
mknod("vda", "b", 254, 0);
mknod("sda", "b", 8, 0);
mknod("pmem0", "b", 259, 0);

describe("DeviceFinder", () => {
  test("virtio-blk by PCI path: waits for the uevent, then gives /dev node and numbers", async () => {
    const hub = new UeventHub();
    const f = new DeviceFinder(hub, { sysRoot: sys, devRoot: dev });
    const p = f.virtioBlkPci("02/00", 1000);
    // an unrelated disk on another port does not match
    hub.handle(blockEv("/devices/pci0000:00/0000:00:03.0/0000:02:00.0/virtio3/block/vdb", "vdb"));
    hub.handle(blockEv("/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio1/block/vda", "vda"));
    expect(await p).toEqual({ devPath: join(dev, "vda"), type: "b", major: 254, minor: 0 });
  });
  test("virtio-blk already in sysfs before the listener (cold-plugged) is found without an event", async () => {
    sysDir("devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio1/block/vda", "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n");
    const f = new DeviceFinder(new UeventHub(), { sysRoot: sys, devRoot: dev });
    expect((await f.virtioBlkPci("02/00", 50)).devPath).toBe(join(dev, "vda"));
  });
  test("a PCI disk that never comes: DEADLINE_EXCEEDED naming the PCI path after the timeout", async () => {
    const f = new DeviceFinder(new UeventHub(), { sysRoot: sys, devRoot: dev });
    const err: any = await f.virtioBlkPci("03/05", 80).catch((e) => e);
    expect(err.kind).toBe("deadline");
    expect(err.message).toContain("PCI path 03/05");
  });
  test("a PCI path through a bridge that does not exist fails at once", async () => {
    const f = new DeviceFinder(new UeventHub(), { sysRoot: sys, devRoot: dev });
    const err: any = await f.virtioBlkPci("07/00", 5000).catch((e) => e);
    expect(err.kind).toBe("precondition");
    expect(err.message).toContain("07/00");
  });
  test("SCSI: rescans every host with '0 <target> <lun>' and matches …/0:0:<t>:<l>/block/sdX", async () => {
    for (const h of ["host0", "host1"]) {
      mkdirSync(join(sys, "class/scsi_host", h), { recursive: true });
      writeFileSync(join(sys, "class/scsi_host", h, "scan"), "");
    }
    const hub = new UeventHub();
    const f = new DeviceFinder(hub, { sysRoot: sys, devRoot: dev });
    const p = f.scsi("1:2", 1000);
    expect(readFileSync(join(sys, "class/scsi_host/host1/scan"), "utf8")).toBe("0 1 2");
    hub.handle(blockEv("/devices/pci0000:00/0000:00:03.0/0000:02:00.0/virtio0/host0/target0:0:1/0:0:1:20/block/sdb", "sdb")); // lun 20 ≠ 2
    hub.handle(blockEv("/devices/pci0000:00/0000:00:03.0/0000:02:00.0/virtio0/host0/target0:0:1/0:0:1:2/block/sda", "sda"));
    expect((await p).devPath).toBe(join(dev, "sda"));
    await expect(f.scsi("1", 10)).rejects.toThrow(/SCSIID:LUN/);
  });
  test("pmem by /dev path (under the ACPI tree) and mmio by name", async () => {
    const hub = new UeventHub();
    const f = new DeviceFinder(hub, { sysRoot: sys, devRoot: dev });
    const p = f.blockByPath("/dev/pmem0", 1000, "pmem", "source");
    hub.handle(blockEv("/devices/virtual/block/pmem0", "pmem0")); // not under LNXSYSTM: not an nvdimm
    hub.handle(blockEv("/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region0/namespace0.0/block/pmem0", "pmem0"));
    expect((await p).major).toBe(259);
    await expect(f.blockByPath("vda", 10, "mmio", "source")).rejects.toThrow(/must be a \/dev/);
  });
  test("splitDevT matches glibc for large numbers", () => {
    expect(splitDevT(0x0000fe00)).toEqual({ major: 254, minor: 0 });
    expect(splitDevT(259 * 256 + 3)).toEqual({ major: 259, minor: 3 });
    expect(splitDevT(0x10082c)).toEqual({ major: 8, minor: 300 }); // minor bits 8.. live at 20..
  });
});

const baseSpec = () => ({
  Process: { Env: ["A=1", "PCIDEVICE_NET=0000:3b:00.1,0000:3b:00.2", "PCIDEVICE_NET_INFO={\"0000:3b:00.1\":{},\"0000:3b:00.2\":{}}", "PCIDEVICE_X=notpci"] },
  Linux: {
    Devices: [
      { Path: "/dev/xvda", Type: "b", Major: 8, Minor: 16, FileMode: 0o660 },
      { Path: "/dev/other", Type: "c", Major: 1, Minor: 3 },
    ],
    Resources: { Devices: [{ Allow: false, Access: "rwm" }, { Allow: true, Type: "b", Major: 8, Minor: 16, Access: "rw" }] },
  },
});

describe("applyDeviceUpdates (Kata update_spec_devices + insert_devices_cgroup_rule)", () => {
  const guest = { devPath: "/dev/vda", type: "b" as const, major: 254, minor: 0 };
  test("guest numbers replace the host's in Linux.Devices and Resources.Devices; an allow rule is added; input untouched", () => {
    const spec = baseSpec();
    const out = applyDeviceUpdates(spec, [{ containerPath: "/dev/xvda", guest, pci: [] }]);
    expect(out.Linux!.Devices![0]).toMatchObject({ Path: "/dev/xvda", Major: 254, Minor: 0, FileMode: 0o660 });
    expect(out.Linux!.Devices![1]).toMatchObject({ Major: 1, Minor: 3 });
    expect(out.Linux!.Resources!.Devices).toEqual([
      { Allow: false, Access: "rwm" },
      { Allow: true, Type: "b", Major: 254, Minor: 0, Access: "rw" },
      { Allow: true, Type: "b", Major: 254, Minor: 0, Access: "rwm" },
    ]);
    expect(spec.Linux.Devices[0]!.Major).toBe(8);
  });
  test("a device with no Linux.Devices entry is refused naming its container path", () => {
    expect(() => applyDeviceUpdates(baseSpec(), [{ containerPath: "/dev/nope", guest, pci: [] }])).toThrow(/no Linux.Devices entry.*\/dev\/nope/);
  });
  test("VFIO: the path becomes /dev/vfio/<group>", () => {
    const out = applyDeviceUpdates(baseSpec(), [{ containerPath: "/dev/xvda", guest: { devPath: "/dev/vfio/7", type: "c", major: 245, minor: 1 }, finalPath: "/dev/vfio/7", pci: [] }]);
    expect(out.Linux!.Devices![0]).toMatchObject({ Path: "/dev/vfio/7", Major: 245, Minor: 1 });
  });
  test("update_env_pci: PCIDEVICE_* host BDFs → guest, _INFO rewritten too, non-PCI values kept", () => {
    const a = (s: string) => parsePciAddress(s)!;
    const env = updateEnvPci(baseSpec().Process.Env, [[a("0000:3b:00.1"), a("0000:01:00.0")], [a("0000:3b:00.2"), a("0000:02:00.0")]]);
    expect(env).toEqual(["A=1", "PCIDEVICE_NET=0000:01:00.0,0000:02:00.0", "PCIDEVICE_NET_INFO={\"0000:01:00.0\":{},\"0000:02:00.0\":{}}", "PCIDEVICE_X=notpci"]);
    // an address without a guest twin leaves the variable as it is
    expect(updateEnvPci(["PCIDEVICE_A=0000:3b:00.1,0000:3b:00.9"], [[a("0000:3b:00.1"), a("0000:01:00.0")]])).toEqual(["PCIDEVICE_A=0000:3b:00.1,0000:3b:00.9"]);
  });
});

describe("resolveDevices: bad input", () => {
  const f = new DeviceFinder(new UeventHub(), { sysRoot: sys, devRoot: dev });
  const r = new GuestDeviceResolver(f, 60);
  const d = (x: Partial<DeviceSpec>): DeviceSpec => ({ id: "", type: "blk", vmPath: "", containerPath: "/dev/xvda", options: [], ...x });
  const cases: [Partial<DeviceSpec>, string, RegExp][] = [
    [{ type: "" }, "invalid", /devices\[0\].*type is empty/],
    [{ id: "02/00", containerPath: "" }, "invalid", /container_path is empty/],
    [{ id: "" }, "invalid", /id and vm_path are empty/],
    [{ id: "xx/yy" }, "invalid", /devices\[0\]\.id.*"xx\/yy"/],
    [{ id: "03/04" }, "deadline", /virtio-blk device at PCI path 03\/04/],
    [{ type: "mmioblk", id: "x" }, "invalid", /vm_path is empty/],
    [{ type: "vfio-ap", id: "x" }, "invalid", /only on s390x/],
    [{ type: "floppy", id: "x" }, "invalid", /"floppy".*not supported/],
    [{ type: "vfio-pci", id: "x", options: ["0000:3b:00.1"] }, "invalid", /options\[0\]/],
  ];
  for (const [dv, kind, re] of cases) {
    test(`${JSON.stringify(dv)} → ${kind}`, async () => {
      const err: any = await resolveDevices([d(dv)], r).catch((e) => e);
      expect(err?.kind).toBe(kind);
      expect(err.message).toMatch(re);
    });
  }
  test("specWithGuestDevices end to end on the fake tree", async () => {
    const out = await specWithGuestDevices(baseSpec(), [{ id: "02/00", type: "blk", vmPath: "", containerPath: "/dev/xvda", options: [] }], 100, f);
    expect(out.Linux!.Devices![0]).toMatchObject({ Major: 254, Minor: 0 });
  });
});

describe("net interface and VFIO on the fake tree", () => {
  test("pciNetInterface: an interface already there, and one that arrives by uevent", async () => {
    mkdirSync(join(sys, "devices/pci0000:00/0000:00:05.0/virtio4/net/eth0"), { recursive: true });
    const f = new DeviceFinder(new UeventHub(), { sysRoot: sys, devRoot: dev });
    expect(await f.pciNetInterface("05", 50)).toBe("eth0");
    const hub = new UeventHub();
    const g = new DeviceFinder(hub, { sysRoot: sys, devRoot: dev });
    const p = g.pciNetInterface("02/01", 1000);
    hub.handle({ action: "add", devpath: "/devices/pci0000:00/0000:00:02.0/0000:01:01.0/virtio7/net/eth1", devname: "", subsystem: "net", seqnum: "1", interface: "eth1" });
    expect(await p).toBe("eth1");
    const err: any = await g.pciNetInterface("1d", 30).catch((e) => e);
    expect(err.kind).toBe("deadline");
  });

  test("vfio-pci-gk maps host → guest addresses for PCIDEVICE_*; vfio-pci binds vfio-pci and exposes /dev/vfio/<group>", async () => {
    // guest device 0000:01:00.0 behind the root port at 02, IOMMU group 5, bound to virtio-pci
    const devdir = join(sys, "devices/pci0000:00/0000:00:02.0/0000:01:00.0");
    mkdirSync(devdir, { recursive: true });
    const busDevs = join(sys, "bus/pci/devices");
    mkdirSync(busDevs, { recursive: true });
    mkdirSync(join(sys, "kernel/iommu_groups/5"), { recursive: true });
    mkdirSync(join(sys, "bus/pci/drivers/virtio-pci"), { recursive: true });
    symlinkSync(devdir, join(busDevs, "0000:01:00.0"));
    symlinkSync(join(sys, "kernel/iommu_groups/5"), join(devdir, "iommu_group"));
    symlinkSync(join(sys, "bus/pci/drivers/virtio-pci"), join(devdir, "driver"));
    writeFileSync(join(sys, "bus/pci/drivers/virtio-pci/unbind"), "");
    writeFileSync(join(sys, "bus/pci/drivers_probe"), "");
    writeFileSync(join(devdir, "driver_override"), "");
    sysDir("devices/virtual/vfio/5");
    mknod("vfio/5", "c", 245, 0);
    const f = new DeviceFinder(new UeventHub(), { sysRoot: sys, devRoot: dev });
    const r = new GuestDeviceResolver(f, 100);
    const gk = await r.resolve({ id: "", type: "vfio-pci-gk", vmPath: "", containerPath: "/dev/vfio/1", options: ["0000:3b:00.1=02/00"] }, "devices[0]");
    expect(gk.guest).toBeUndefined();
    expect(gk.pci.map(([h, g]) => [h.bus, g.bus])).toEqual([[0x3b, 1]]);
    const v = await r.resolve({ id: "", type: "vfio-pci", vmPath: "", containerPath: "/dev/vfio/9", options: ["0000:3b:00.1=02/00"] }, "devices[0]");
    expect(readFileSync(join(devdir, "driver_override"), "utf8")).toBe("vfio-pci");
    expect(readFileSync(join(sys, "bus/pci/drivers/virtio-pci/unbind"), "utf8")).toBe("0000:01:00.0");
    expect(readFileSync(join(sys, "bus/pci/drivers_probe"), "utf8")).toBe("0000:01:00.0");
    expect(v).toMatchObject({ finalPath: join(dev, "vfio/5"), guest: { type: "c", major: 245, minor: 0 } });
    const spec = applyDeviceUpdates({ Process: { Env: ["PCIDEVICE_X=0000:3b:00.1"] }, Linux: { Devices: [{ Path: "/dev/vfio/9", Type: "c", Major: 240, Minor: 9 }] } }, [v]);
    expect(spec.Process!.Env).toEqual(["PCIDEVICE_X=0000:01:00.0"]);
    expect(spec.Linux!.Devices![0]).toMatchObject({ Path: join(dev, "vfio/5"), Major: 245 });
  });
});
