// rtnetlink messages byte for byte (layouts from <linux/netlink.h>, <linux/rtnetlink.h>,
// <linux/if_link.h>, <linux/if_addr.h>, <linux/neighbour.h>; little-endian), and the decoders on
// messages shaped like the kernel's answers.
import { describe, expect, test } from "bun:test";
import {
  NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK_TLVS, NLM_F_CAPPED, parseAttrs, parseError, splitMessages,
} from "../../src/sys/netlink-frame.ts";
import {
  delAddress, dumpAddresses, dumpLinks, dumpRoutes, message, newAddress, newNeighbour, newRoute, packAttrs, setLink,
  strAttr, u32Attr,
} from "../../src/network/rtnl-encode.ts";
import { decodeAddress, decodeLink, decodeRoute } from "../../src/network/rtnl-decode.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
const ip4 = (s: string) => Uint8Array.from(s.split(".").map(Number));

describe("requests", () => {
  test("RTM_GETLINK dump: header (len 32, type 18, REQUEST|DUMP) + zeroed ifinfomsg", () => {
    expect(hex(dumpLinks())).toBe("20000000 1200 0103 00000000 00000000".replace(/ /g, "") + "00".repeat(16));
  });

  test("RTM_GETADDR and RTM_GETROUTE dumps carry the family", () => {
    expect(hex(dumpAddresses(10))).toBe("18000000160001030000000000000000" + "0a00000000000000");
    expect(hex(dumpRoutes(2))).toBe("1c000000" + "1a00" + "0103" + "0000000000000000" + "020000000000000000000000");
  });

  test("RTM_SETLINK: rename to eth0, MTU 1450, up with ARP (flags UP, change UP|NOARP)", () => {
    const m = setLink({ index: 3, name: "eth0", mtu: 1450, flags: 0x1, change: 0x81 });
    expect(hex(m)).toBe(hex(bytes(`
      34000000 1300 0500 00000000 00000000
      00 00 0000 03000000 01000000 81000000
      0900 0300 65746830 00 000000
      0800 0400 aa050000`)));
  });

  test("RTM_NEWADDR 10.244.1.5/24 on index 3: CREATE|REPLACE|ACK, IFA_LOCAL and IFA_ADDRESS", () => {
    const m = newAddress({ index: 3, family: 4, bytes: ip4("10.244.1.5"), prefix: 24 });
    expect(hex(m)).toBe(hex(bytes(`
      28000000 1400 0505 00000000 00000000
      02 18 00 00 03000000
      0800 0200 0af40105
      0800 0100 0af40105`)));
  });

  test("RTM_DELADDR of an IPv6 address: family 10, 16-byte attributes, no CREATE", () => {
    const v6 = bytes("fd000000000000000000000000000001");
    const m = delAddress({ index: 7, family: 6, bytes: v6, prefix: 64 });
    expect(hex(m)).toBe(hex(bytes(`40000000 1500 0500 00000000 00000000 0a 40 00 00 07000000 1400 0200`)) + hex(v6) + "14000100" + hex(v6));
  });

  test("RTM_NEWROUTE default via 10.244.1.1 dev 3: main table, boot protocol, unicast, no RTA_DST", () => {
    const m = newRoute({ family: 4, dest: new Uint8Array(4), destPrefix: 0, oif: 3, gateway: ip4("10.244.1.1"), scope: 0, flags: 0, mtu: 0 });
    expect(hex(m)).toBe(hex(bytes(`
      2c000000 1800 0505 00000000 00000000
      02 00 00 00 fe 03 00 01 00000000
      0800 0400 03000000
      0800 0500 0af40101`)));
  });

  test("RTM_NEWROUTE 10.244.0.0/16 scope link, onlink, preferred source, MTU 1400 in RTA_METRICS", () => {
    const m = newRoute({
      family: 4, dest: ip4("10.244.0.0"), destPrefix: 16, oif: 3, prefSrc: ip4("10.244.1.5"), scope: 253, flags: 4, mtu: 1400,
    });
    expect(hex(m)).toBe(hex(bytes(`
      40000000 1800 0505 00000000 00000000
      02 10 00 00 fe 03 fd 01 04000000
      0800 0100 0af40000
      0800 0400 03000000
      0800 0700 0af40105
      0c00 0800 0800 0200 78050000`)));
  });

  test("RTM_NEWROUTE with a source prefix sets rtm_src_len and RTA_SRC", () => {
    const m = newRoute({ family: 4, dest: ip4("10.1.0.0"), destPrefix: 16, oif: 2, src: { bytes: ip4("10.2.0.0"), prefix: 24 }, scope: 0, flags: 0, mtu: 0 });
    expect(hex(m.subarray(16, 28))).toBe("02101800fe03000100000000");
    expect(hex(m.subarray(36, 44))).toBe("080002000a020000");
  });

  test("RTM_NEWNEIGH permanent 10.244.1.1 lladdr 02:42:ac:11:00:02 dev 3 (lladdr padded to 4)", () => {
    const m = newNeighbour({ family: 4, index: 3, ip: ip4("10.244.1.1"), lladdr: bytes("0242ac110002"), state: 0x80, flags: 0 });
    expect(hex(m)).toBe(hex(bytes(`
      30000000 1c00 0505 00000000 00000000
      02 00 0000 03000000 8000 00 00
      0800 0100 0af40101
      0a00 0200 0242ac110002 0000`)));
  });

  test("attributes: strings are NUL-terminated, every attribute padded to 4, nested ones packed", () => {
    expect(hex(packAttrs([strAttr(3, "lo"), u32Attr(4, 65536)]))).toBe("070003006c6f0000" + "0800040000000100");
    expect(hex(message(99, 1, new Uint8Array(3)))).toBe("1400000063000100000000000000000000000000");
  });
});

describe("answers", () => {
  test("splitMessages walks aligned messages; a length past the end is an error", () => {
    const two = bytes("14000000 0300 0200 07000000 00000000 00000000" + "14000000 0200 0000 07000000 00000000 00000000");
    const ms = splitMessages(two);
    expect(ms.map((m) => [m.type, m.seq, m.payload.length])).toEqual([[NLMSG_DONE, 7, 4], [NLMSG_ERROR, 7, 4]]);
    expect(() => splitMessages(bytes("40000000 0300 0000 00000000 00000000"))).toThrow("claims 64 bytes");
  });

  test("NLMSG_ERROR: ACK is errno 0; -EEXIST with the kernel's extended-ACK text (capped)", () => {
    expect(parseError({ type: 2, flags: 0, seq: 1, pid: 0, payload: bytes("00000000" + "00".repeat(16)) })).toEqual({ errno: 0 });
    const msg = new TextEncoder().encode("Nexthop has invalid gateway\0");
    const tlv = packAttrs([[1, msg]]);
    const payload = new Uint8Array([...bytes("efffffff"), ...new Uint8Array(16), ...tlv]);
    expect(parseError({ type: 2, flags: NLM_F_CAPPED | NLM_F_ACK_TLVS, seq: 1, pid: 0, payload })).toEqual({
      errno: 17, text: "Nexthop has invalid gateway",
    });
    // Without NETLINK_CAP_ACK the original request (length from its header) comes first.
    const req = bytes("18000000 1800 0500 01000000 00000000 02000000 00000000");
    const uncapped = new Uint8Array([...bytes("eaffffff"), ...req, ...tlv]);
    expect(parseError({ type: 2, flags: NLM_F_ACK_TLVS, seq: 1, pid: 0, payload: uncapped }).text).toBe("Nexthop has invalid gateway");
  });

  test("RTM_NEWLINK → index, name, MAC, MTU, flags, kind from IFLA_LINKINFO", () => {
    const payload = new Uint8Array([
      ...bytes("00 00 0100 05000000 43100100 00000000"),
      ...packAttrs([strAttr(3, "eth0"), u32Attr(4, 1450), [1, bytes("020000000005")], [18, packAttrs([strAttr(1, "veth")])]]),
    ]);
    expect(decodeLink({ type: 16, flags: 2, seq: 1, pid: 0, payload })).toEqual({
      index: 5, flags: 0x11043, name: "eth0", mac: bytes("020000000005"), mtu: 1450, kind: "veth",
    });
    expect(decodeLink({ type: 20, flags: 2, seq: 1, pid: 0, payload })).toBeNull();
  });

  test("RTM_NEWADDR → family, prefix, scope, index, IFA_LOCAL preferred over IFA_ADDRESS", () => {
    const payload = new Uint8Array([...bytes("02 18 80 00 05000000"), ...packAttrs([[1, ip4("10.0.0.9")], [2, ip4("10.244.1.5")]])]);
    expect(decodeAddress({ type: 20, flags: 2, seq: 1, pid: 0, payload })).toEqual({
      index: 5, family: 4, prefix: 24, scope: 0, bytes: ip4("10.244.1.5"),
    });
  });

  test("RTM_NEWROUTE → table, protocol, scope, dest/gateway/oif/prefsrc and the MTU metric", () => {
    const payload = new Uint8Array([
      ...bytes("02 10 00 00 fe 03 fd 01 04000000"),
      ...packAttrs([u32Attr(15, 254), [1, ip4("10.244.0.0")], u32Attr(4, 5), [7, ip4("10.244.1.5")], [8, packAttrs([u32Attr(2, 1400)])]]),
    ]);
    const r = decodeRoute({ type: 24, flags: 2, seq: 1, pid: 0, payload })!;
    expect(r).toMatchObject({ family: 4, destPrefix: 16, table: 254, protocol: 3, scope: 253, type: 1, flags: 4, oif: 5, mtu: 1400 });
    expect([...r.dest!]).toEqual([10, 244, 0, 0]);
    expect([...r.prefSrc!]).toEqual([10, 244, 1, 5]);
    expect(r.gateway).toBeUndefined();
  });

  test("parseAttrs masks NLA_F_NESTED and stops at a truncated attribute", () => {
    const a = parseAttrs(bytes("0800 1280 01020304" + "ff00 0100"));
    expect([...a.keys()]).toEqual([0x12]);
  });
});
