// The network RPCs against the real agent running inside a network namespace the test makes:
// the calls a CNI pod's runtime replays (UpdateInterface → UpdateRoutes → AddARPNeighbors), the
// List* answers, each checked against `ip -j` in that namespace; "Link not found"; bad input that
// must change nothing; Kata's rename dance; iptables round trip. No packet leaves the namespaces.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Code } from "../../src/ttrpc/status.ts";
import type { TtrpcClient } from "../../src/ttrpc/client.ts";
import { failure } from "../helpers/agent.ts";
import { missing } from "../helpers/require.ts";
import { haveIp, isRoot, rpc, sh, startNetHarness, type NetHarness } from "./network-harness.ts";

setDefaultTimeout(30_000);
let h: NetHarness;
let c: TtrpcClient;

const MAC = "02:00:0a:f4:01:05";
const v4 = (address: string, mask: string) => ({ family: 0, address, mask });

describe.skipIf(missing({ root: isRoot, "iproute2 (ip)": haveIp }))("network RPCs in a network namespace (root)", () => {
  beforeAll(async () => {
    h = await startNetHarness("net");
    c = await h.agent.client();
    h.veth("veth-pod", MAC);
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  const linkState = (name: string) => {
    const [l] = h.ipj("addr", "show", "dev", name);
    return { name: l.ifname, mtu: l.mtu, up: l.flags.includes("UP"), addrs: l.addr_info.filter((a: any) => a.family === "inet").map((a: any) => `${a.local}/${a.prefixlen}`) };
  };

  test("UpdateInterface (CNI eth0 by MAC, 10.244.1.5/24, mtu 1450): renamed, configured, up; the answer is the kernel's view", async () => {
    const r = await rpc(c, "UpdateInterface", {
      interface: { name: "eth0", hwAddr: MAC, IPAddresses: [v4("10.244.1.5", "24")], mtu: 1450, type: "veth", raw_flags: 0x1003 },
    });
    expect(r).toMatchObject({ name: "eth0", hwAddr: MAC, mtu: 1450, type: "veth" });
    expect(r.IPAddresses!.filter((a) => (a.family ?? 0) === 0).map((a) => `${a.address}/${a.mask}`)).toEqual(["10.244.1.5/24"]);
    expect(linkState("eth0")).toEqual({ name: "eth0", mtu: 1450, up: true, addrs: ["10.244.1.5/24"] });
    expect(h.ipj("link", "show", "dev", "eth0")[0].address).toBe(MAC);
  });

  test("UpdateInterface again replaces the addresses (old one removed, two new ones)", async () => {
    await rpc(c, "UpdateInterface", {
      interface: { name: "eth0", hwAddr: MAC.toUpperCase(), IPAddresses: [v4("10.244.1.6", "24"), v4("10.244.9.6", "16")], mtu: 1450 },
    });
    expect(linkState("eth0").addrs.sort()).toEqual(["10.244.1.6/24", "10.244.9.6/16"]);
    await rpc(c, "UpdateInterface", { interface: { name: "eth0", hwAddr: MAC, IPAddresses: [v4("10.244.1.5", "24")], mtu: 1450 } });
    expect(linkState("eth0").addrs).toEqual(["10.244.1.5/24"]);
  });

  test("UpdateRoutes (default via the gateway listed first, then the subnet route): both in the main table, proto boot", async () => {
    const r = await rpc(c, "UpdateRoutes", {
      routes: {
        Routes: [
          { dest: "", gateway: "10.244.1.1", device: "eth0", family: 0, scope: 0 },
          { dest: "10.244.1.0/24", gateway: "", device: "eth0", source: "10.244.1.5", family: 0, scope: 253 },
        ],
      },
    });
    const routes = h.ipj("-d", "route", "show", "table", "main");
    expect(routes).toContainEqual(expect.objectContaining({ dst: "default", gateway: "10.244.1.1", dev: "eth0", protocol: "boot" }));
    expect(routes).toContainEqual(expect.objectContaining({ dst: "10.244.1.0/24", dev: "eth0", protocol: "boot", scope: "link", prefsrc: "10.244.1.5" }));
    expect(r.Routes).toContainEqual(expect.objectContaining({ dest: "", gateway: "10.244.1.1", device: "eth0" }));
    expect(r.Routes).toContainEqual(expect.objectContaining({ dest: "10.244.1.0/24", device: "eth0", source: "10.244.1.5", scope: 253 }));
  });

  test("UpdateRoutes with an MTU and the onlink flag; replaying the same routes is not an error", async () => {
    const routes = [{ dest: "10.96.0.0/12", gateway: "10.244.1.1", device: "eth0", family: 0, mtu: 1400, flags: 4 }];
    await rpc(c, "UpdateRoutes", { routes: { Routes: routes } });
    await rpc(c, "UpdateRoutes", { routes: { Routes: routes } });
    const [r] = h.ipj("route", "show", "10.96.0.0/12");
    expect(r).toMatchObject({ gateway: "10.244.1.1", dev: "eth0", metrics: [{ mtu: 1400 }], flags: ["onlink"] });
  });

  test("AddARPNeighbors: a permanent entry with its lladdr", async () => {
    await rpc(c, "AddARPNeighbors", {
      neighbors: { ARPNeighbors: [{ toIPAddress: v4("10.244.1.1", "32"), device: "eth0", lladdr: "02:00:0a:f4:01:01", state: 0 }] },
    });
    const [n] = h.ipj("neigh", "show", "dev", "eth0", "to", "10.244.1.1");
    expect(n).toMatchObject({ dst: "10.244.1.1", lladdr: "02:00:0a:f4:01:01", state: ["PERMANENT"] });
  });

  test("ListInterfaces and ListRoutes agree with ip -j", async () => {
    const ifs = (await rpc(c, "ListInterfaces", {})).Interfaces!;
    const links = h.ipj("addr", "show");
    expect(ifs.map((i) => i.name).sort()).toEqual(links.map((l) => l.ifname).sort());
    const eth0 = ifs.find((i) => i.name === "eth0")!;
    expect(eth0).toMatchObject({ hwAddr: MAC, mtu: 1450 });
    expect(eth0.IPAddresses).toContainEqual(expect.objectContaining({ address: "10.244.1.5", mask: "24" }));
    const lo = ifs.find((i) => i.name === "lo")!;
    expect(lo.mtu).toBe(links.find((l) => l.ifname === "lo").mtu);

    const routes = (await rpc(c, "ListRoutes", {})).Routes!;
    const v4routes = routes.filter((r) => (r.family ?? 0) === 0);
    const kernel = h.ipj("route", "show", "table", "main");
    expect(v4routes.map((r) => r.dest || "default").sort()).toEqual(kernel.map((r) => r.dst).sort());
  });

  test("an unknown MAC answers 'Link not found' (the runtime retries on that text)", async () => {
    const f = await failure(rpc(c, "UpdateInterface", { interface: { name: "eth0", hwAddr: "02:00:00:00:99:99", mtu: 1500 } }));
    expect(f.code).toBe(Code.NOT_FOUND);
    expect(f.message).toContain("Link not found");
  });

  test("bad input: INVALID_ARGUMENT naming the field, and the link stays exactly as it was", async () => {
    const before = linkState("eth0");
    const bad: [Record<string, unknown>, string][] = [
      [{ name: "eth0", hwAddr: MAC, IPAddresses: [v4("10.0.0.1", "33")] }, 'interface.IPAddresses[0].mask "33"'],
      [{ name: "eth0", hwAddr: MAC, IPAddresses: [{ family: 1, address: "::zz", mask: "64" }] }, 'interface.IPAddresses[0].address "::zz"'],
      [{ name: "eth0", hwAddr: MAC, IPAddresses: [{ family: 7, address: "10.0.0.1", mask: "24" }] }, "interface.IPAddresses[0].family: unknown IP family 7"],
      [{ name: "eth/0", hwAddr: MAC }, 'interface.name "eth/0"'],
      [{ name: "a-very-long-name0", hwAddr: MAC }, "at most 15 bytes"],
      [{ name: "eth0", hwAddr: MAC, mtu: 70000 }, "interface.mtu 70000: out of range"],
      [{ name: "eth0", hwAddr: "zz" }, 'interface.hwAddr "zz"'],
    ];
    for (const [iface, text] of bad) {
      const f = await failure(rpc(c, "UpdateInterface", { interface: iface }));
      expect({ code: f.code, text: f.message.includes(text) ? text : f.message }).toEqual({ code: Code.INVALID_ARGUMENT, text });
    }
    const route = await failure(rpc(c, "UpdateRoutes", { routes: { Routes: [{ dest: "10.1.0.0/16", device: "nosuch0", family: 0 }] } }));
    expect(route.code).toBe(Code.INVALID_ARGUMENT);
    expect(route.message).toContain('routes[0].device "nosuch0": no such link');
    const fam = await failure(rpc(c, "UpdateRoutes", { routes: { Routes: [{ dest: "fd00::/64", device: "eth0", family: 0 }] } }));
    expect(fam.message).toContain('routes[0].dest "fd00::/64" is IPv6');
    expect(linkState("eth0")).toEqual(before);
  });

  test("a kernel refusal midway (IPv6 off on this one link: EACCES) is rolled back, routes included, and the error says so", async () => {
    const before = linkState("eth0");
    const routesBefore = h.ipj("-d", "route", "show", "table", "main");
    expect(routesBefore).toContainEqual(expect.objectContaining({ dst: "default", gateway: "10.244.1.1" }));
    const v6off = (v: number) => sh(["ip", "netns", "exec", h.pod, "sh", "-c", `echo ${v} > /proc/sys/net/ipv6/conf/eth0/disable_ipv6`]);
    v6off(1);
    try {
      const f = await failure(rpc(c, "UpdateInterface", {
        interface: { name: "eth0", hwAddr: MAC, IPAddresses: [v4("10.244.1.7", "24"), { family: 1, address: "fd00::7", mask: "64" }], mtu: 1450 },
      }));
      expect(f.code).toBe(Code.INTERNAL);
      expect(f.message).toContain("RTM_NEWADDR fd00::7/64 on eth0: EACCES");
      expect(f.message).toContain("link eth0 was restored to its previous state");
      expect(linkState("eth0")).toEqual(before);
      const sortRoutes = (rs: any[]) => rs.map((r) => JSON.stringify(r)).sort();
      expect(sortRoutes(h.ipj("-d", "route", "show", "table", "main"))).toEqual(sortRoutes(routesBefore));
    } finally {
      v6off(0);
    }
  });

  test("devicePath of a NIC that never appears: DEADLINE_EXCEEDED after agent.hotplug_timeout (1 s here), link untouched", async () => {
    const before = linkState("eth0");
    const t0 = performance.now();
    const f = await failure(rpc(c, "UpdateInterface", { interface: { name: "eth0", hwAddr: MAC, devicePath: "1f.7", mtu: 1400 } }));
    const ms = performance.now() - t0;
    expect(f.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(f.message).toContain("PCI path 1f.7");
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(ms).toBeLessThan(3000);
    expect(linkState("eth0")).toEqual(before);
  });

  test("IPv6 disabled in the guest (conf/all and conf/default): IPv6 addresses are skipped, IPv4 applied", async () => {
    const set = (v: number) => sh(["ip", "netns", "exec", h.pod, "sh", "-c",
      `echo ${v} > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo ${v} > /proc/sys/net/ipv6/conf/default/disable_ipv6`]);
    set(1);
    try {
      const r = await rpc(c, "UpdateInterface", {
        interface: { name: "eth0", hwAddr: MAC, IPAddresses: [v4("10.244.1.5", "24"), { family: 1, address: "fd00::5", mask: "64" }], mtu: 1450 },
      });
      expect(r.IPAddresses!.map((a) => a.address)).toEqual(["10.244.1.5"]);
      expect(h.ipj("addr", "show", "dev", "eth0")[0].addr_info.map((a: any) => a.local)).toEqual(["10.244.1.5"]);
    } finally {
      set(0);
    }
  });

  test("rename onto a name another link holds: Kata's temporary-name swap", async () => {
    h.veth("eth1", "02:00:00:00:00:e1");
    h.veth("ens7", "02:00:00:00:00:e7");
    await rpc(c, "UpdateInterface", { interface: { name: "eth1", hwAddr: "02:00:00:00:00:e7", IPAddresses: [v4("10.250.0.2", "24")] } });
    const names = Object.fromEntries(h.ipj("link", "show").map((l) => [l.address, l.ifname]));
    expect(names["02:00:00:00:00:e7"]).toBe("eth1");
    expect(names["02:00:00:00:00:e1"]).toBe("ens7");
  });

  test("SetIPTables then GetIPTables round-trips a ruleset in the pod namespace; bad rules are INVALID_ARGUMENT", async () => {
    const rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:KATA-TEST - [0:0]\n" +
      "-A INPUT -s 10.244.1.0/24 -j KATA-TEST\n-A KATA-TEST -p tcp -m tcp --dport 8080 -j ACCEPT\nCOMMIT\n";
    await rpc(c, "SetIPTables", { is_ipv6: false, data: new TextEncoder().encode(rules) });
    const got = new TextDecoder().decode((await rpc(c, "GetIPTables", { is_ipv6: false })).data!);
    for (const line of [":FORWARD DROP", ":KATA-TEST - [0:0]", "-A INPUT -s 10.244.1.0/24 -j KATA-TEST", "-A KATA-TEST -p tcp -m tcp --dport 8080 -j ACCEPT"]) {
      expect(got).toContain(line);
    }
    expect(sh(["ip", "netns", "exec", h.pod, "iptables-save"])).toContain("-A INPUT -s 10.244.1.0/24 -j KATA-TEST");
    expect(sh(["iptables-save"])).not.toContain("KATA-TEST"); // the host's tables are untouched
    const bad = await failure(rpc(c, "SetIPTables", { data: new TextEncoder().encode("*filter\n-A NOPE -j ACCEPT\nCOMMIT\n") }));
    expect(bad.code).toBe(Code.INVALID_ARGUMENT);
    expect(bad.message).toContain("iptables-restore refused the rules");
    // ip6tables-save answers too (an empty text: no IPv6 table is loaded in a fresh namespace).
    const six = await rpc(c, "GetIPTables", { is_ipv6: true });
    expect(new TextDecoder().decode(six.data ?? new Uint8Array(0))).toBe(sh(["ip", "netns", "exec", h.pod, "ip6tables-save"]));
  });
  test("a dump spanning many datagrams is read to NLMSG_DONE: 300 more links, every one listed", async () => {
    const batch = Array.from({ length: 150 }, (_, i) => `link add dm${i} type veth peer name dp${i}`).join("\n") + "\n";
    const p = Bun.spawnSync(["ip", "-n", h.pod, "-batch", "-"], { stdin: new TextEncoder().encode(batch), stderr: "pipe" });
    expect(p.exitCode).toBe(0);
    try {
      const ifs = (await rpc(c, "ListInterfaces", {})).Interfaces!;
      const kernel = h.ipj("link", "show");
      expect(kernel.length).toBeGreaterThan(300);
      expect(ifs.map((i) => i.name).sort()).toEqual(kernel.map((l) => l.ifname).sort());
    } finally {
      const del = Array.from({ length: 150 }, (_, i) => `link del dm${i}`).join("\n") + "\n";
      Bun.spawnSync(["ip", "-n", h.pod, "-batch", "-"], { stdin: new TextEncoder().encode(del), stderr: "pipe" });
    }
  });
});
