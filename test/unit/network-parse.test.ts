// Address text and request validation of the network domain (no kernel involved).
import { describe, expect, test } from "bun:test";
import { formatIP, formatMAC, parseCIDR, parseIP, parseIPv6, parseMAC } from "../../src/network/ip.ts";
import { checkAddress, checkLinkName, checkMtu } from "../../src/network/validate.ts";

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
