import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { formatPciAddress, formatPciPath, parsePciAddress, parsePciPath, pathToSysfs } from "../../src/device/pci.ts";

describe("PCI path grammar (Kata pcipath_from_dev_tree_path)", () => {
  test("bus/dev and nested bridges on root complex 00", () => {
    expect(parsePciPath("02/01")).toEqual({ rootComplex: "00", slots: [{ slot: 2, fn: 0 }, { slot: 1, fn: 0 }] });
    expect(parsePciPath("02/00/01").slots.length).toBe(3);
    expect(parsePciPath("1f.7").slots).toEqual([{ slot: 0x1f, fn: 7 }]);
    expect(formatPciPath(parsePciPath("02/00.1"))).toBe("02/00.1");
  });
  test("a first segment >= 0x20 with two more is a pxb-pcie root complex", () => {
    expect(parsePciPath("20/01/00")).toEqual({ rootComplex: "20", slots: [{ slot: 1, fn: 0 }, { slot: 0, fn: 0 }] });
    // two segments: 0x20 is then a slot, which is out of range
    expect(() => parsePciPath("20/01")).toThrow(/slot 20 should be in range/);
  });
  test("bad paths are INVALID_ARGUMENT naming the field and the text", () => {
    for (const bad of ["", "zz", "02/", "02//01", "02.8", "1.2.3", "02/01/x"]) {
      let err: any;
      try {
        parsePciPath(bad, "storage source");
      } catch (e) {
        err = e;
      }
      expect(err?.kind).toBe("invalid");
      expect(err.message).toContain("storage source");
    }
  });
  test("addresses DDDD:BB:SS.F", () => {
    const a = parsePciAddress("0000:01:1F.3")!;
    expect(formatPciAddress(a)).toBe("0000:01:1f.3");
    expect(parsePciAddress("0000:01:20.0")).toBeNull();
    expect(parsePciAddress("01:00.0")).toBeNull();
    expect(parsePciAddress("0000:01:00.8")).toBeNull();
  });
});

describe("pathToSysfs on fake sysfs trees", () => {
  const root = mkdtempSync(join(tmpdir(), "fake-sys-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const dir = (p: string) => mkdirSync(join(root, p), { recursive: true });

  test("a root port with a pci_bus entry (q35 pcie-root-port)", () => {
    dir("devices/pci0000:00/0000:00:02.0/pci_bus/0000:01");
    expect(pathToSysfs(root, parsePciPath("02/00"))).toBe("/0000:00:02.0/0000:01:00.0");
    expect(pathToSysfs(root, parsePciPath("05"))).toBe("/0000:00:05.0");
  });
  test("two bridges deep", () => {
    dir("devices/pci0000:00/0000:00:03.0/pci_bus/0000:02");
    dir("devices/pci0000:00/0000:00:03.0/0000:02:01.0/pci_bus/0000:03");
    expect(pathToSysfs(root, parsePciPath("03/01/00.1"))).toBe("/0000:00:03.0/0000:02:01.0/0000:03:00.1");
  });
  test("no pci_bus: the bus is taken from the devices below the bridge", () => {
    dir("devices/pci0000:00/0000:00:04.0/0000:05:00.0");
    expect(pathToSysfs(root, parsePciPath("04/01"))).toBe("/0000:00:04.0/0000:05:01.0");
  });
  test("a pxb-pcie root complex starts at its own bus", () => {
    dir("devices/pci0000:20/0000:20:01.0/pci_bus/0000:21");
    expect(pathToSysfs(root, parsePciPath("20/01/00"))).toBe("/0000:20:01.0/0000:21:00.0");
  });
  test("a missing bridge throws naming it", () => {
    expect(() => pathToSysfs(root, parsePciPath("09/00"))).toThrow(/0000:00:09\.0/);
  });
});
