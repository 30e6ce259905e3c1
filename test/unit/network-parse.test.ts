// Address text, request validation and PCI paths of the network domain (no kernel involved).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatIP, formatMAC, parseCIDR, parseIP, parseIPv6, parseMAC } from "../../src/network/ip.ts";
import { checkAddress, checkLinkName, checkMtu } from "../../src/network/validate.ts";
import { netDeviceUnder, parsePciPath, pciSysfsDir, waitForPciNetDevice } from "../../src/network/pci-net.ts";

describe("IP text", () => {
  test("IPv4 strict: four decimal bytes, no leading zeros", () => {
    expect([...parseIP("10.244.1.5")!.bytes]).toEqual([10, 244, 1, 5]);
    for (const bad of ["10.0.0", "10.0.0.256", "10.0.0.01", "1.2.3.4.5", "a.b.c.d", "", " 1.2.3.4"]) expect(parseIP(bad)).toBeNull();
  });

  test("IPv6: '::', embedded IPv4, bad groups refused", () => {
    expect(formatIP(parseIPv6("::")!)).toBe("::");
    expect(formatIP(parseIPv6("fd00:0:0:0:0:0:0:1")!)).toBe("fd00::1");
    expect(formatIP(parseIPv6("2001:db8:0:0:1:0:0:1")!)).toBe("2001:db8::1:0:0:1");
    expect(formatIP(parseIPv6("fe80::1:2")!)).toBe("fe80::1:2");
    expect(formatIP(parseIPv6("1:0:2:3:4:5:6:7")!)).toBe("1:0:2:3:4:5:6:7");
    expect([...parseIPv6("::ffff:10.0.0.1")!.subarray(10)]).toEqual([0xff, 0xff, 10, 0, 0, 1]);
    for (const bad of ["::zz", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", ":1::", "fe80::1%eth0", "1.2.3.4::"]) {
      expect(parseIPv6(bad)).toBeNull();
    }
  });

  test("CIDR: the prefix is bounded by the family", () => {
    expect(parseCIDR("10.0.0.1/33")).toBeNull();
    expect(parseCIDR("10.0.0.0/8")).toMatchObject({ family: 4, prefix: 8, hadPrefix: true });
    expect(parseCIDR("fd00::/128")).toMatchObject({ family: 6, prefix: 128 });
    expect(parseCIDR("fd00::/129")).toBeNull();
    expect(parseCIDR("10.0.0.5")).toMatchObject({ prefix: 32, hadPrefix: false });
  });

  test("MAC: six hex pairs; output lowercase", () => {
    expect(formatMAC(parseMAC("02:AA:00:00:00:05")!)).toBe("02:aa:00:00:00:05");
    expect(parseMAC("02:aa:00:00:00")).toBeNull();
    expect(parseMAC("02:aa:00:00:00:5")).toBeNull();
  });
});

describe("request checks name the field", () => {
  test("interface names: '/', over 15 bytes, empty", () => {
    expect(() => checkLinkName("eth/0", "interface.name")).toThrow(/interface.name "eth\/0".*'\/'/);
    expect(() => checkLinkName("a234567890123456", "interface.name")).toThrow("at most 15 bytes");
    expect(() => checkLinkName("", "interface.name")).toThrow("interface.name: the interface name is empty");
    expect(() => checkLinkName("eth0", "x")).not.toThrow();
  });

  test("MTU range, 0 = unchanged", () => {
    expect(() => checkMtu(0, "interface.mtu")).not.toThrow();
    expect(() => checkMtu(67, "interface.mtu")).toThrow("interface.mtu 67: out of range");
    expect(() => checkMtu(65536, "interface.mtu")).toThrow("out of range");
  });

  test("addresses: family must match the text, mask within the family", () => {
    const f = "interface.IPAddresses[0]";
    expect(checkAddress({ family: 4, address: "10.0.0.1", mask: "24" }, f).prefix).toBe(24);
    expect(() => checkAddress({ family: 4, address: "10.0.0.1", mask: "33" }, f)).toThrow(`${f}.mask "33"`);
    expect(() => checkAddress({ family: 6, address: "::zz", mask: "64" }, f)).toThrow(`${f}.address "::zz"`);
    expect(() => checkAddress({ family: 6, address: "10.0.0.1", mask: "24" }, f)).toThrow("is IPv4 but");
    try {
      checkAddress({ family: 4, address: "x", mask: "1" }, f);
    } catch (e) {
      expect((e as { kind: string }).kind).toBe("invalid");
    }
  });
});

describe("PCI path of a NIC", () => {
  const root = mkdtempSync(join(tmpdir(), "pci-net-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test("parsing: slots and functions in hex, pxb-pcie root bus first when ≥ 0x20 with 3+ parts", () => {
    expect(parsePciPath("02/00", "f")).toEqual({ rootBus: "00", slots: [{ slot: 2, fn: 0 }, { slot: 0, fn: 0 }] });
    expect(parsePciPath("1f.3", "f")).toEqual({ rootBus: "00", slots: [{ slot: 31, fn: 3 }] });
    expect(parsePciPath("20/00/02", "f").rootBus).toBe("20");
    expect(() => parsePciPath("02/zz", "interface.devicePath")).toThrow('interface.devicePath "02/zz"');
    expect(() => parsePciPath("20", "f")).toThrow("is not a PCI slot");
  });

  test("resolving through a bridge's pci_bus, and finding net/ under virtio<N>/", async () => {
    const bridge = join(root, "devices/pci0000:00/0000:00:02.0");
    mkdirSync(join(bridge, "pci_bus/0000:01"), { recursive: true });
    const dev = pciSysfsDir(root, "00", parsePciPath("02/00", "f").slots)!;
    expect(dev).toBe(join(bridge, "0000:01:00.0"));
    expect(netDeviceUnder(dev)).toBeNull();
    const late = setTimeout(() => mkdirSync(join(dev, "virtio1/net/eth0"), { recursive: true }), 60);
    expect(await waitForPciNetDevice("02/00", 2000, root)).toBe("eth0");
    clearTimeout(late);
  });

  test("a device that never appears: DEADLINE_EXCEEDED naming the path and the timeout", async () => {
    const e = await waitForPciNetDevice("05", 100, root).catch((x) => x);
    expect(e.kind).toBe("deadline");
    expect(e.message).toContain('interface.devicePath "05"');
    expect(e.message).toContain("within 100 ms");
  });
});
