// The network calls of a CNI pod through containerd's Go ttRPC client (the library the Kata Go
// runtime uses), against the agent running in a network namespace the test makes; the result is
// checked with `ip -j` in that namespace. Both namespaces are removed even when a step fails.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildInteropClient, goAvailable } from "../interop/build.ts";
import { missing } from "../helpers/require.ts";
import { haveIp, isRoot, startNetHarness, type NetHarness } from "./network-harness.ts";

const MAC = "02:00:0a:f4:02:05";
let h: NetHarness;
let bin: string;

describe.skipIf(missing({ "Go + containerd ttrpc sources": goAvailable(), root: isRoot, "iproute2 (ip)": haveIp }))("Go ttRPC client drives the network RPCs", () => {
  beforeAll(async () => {
    bin = buildInteropClient();
    h = await startNetHarness("gonet");
    h.veth("veth-go", MAC);
  }, 180_000);
  afterAll(async () => {
    await h?.stop();
  });

  test("UpdateInterface → UpdateRoutes → AddARPNeighbors → ListInterfaces/ListRoutes; unknown MAC → Link not found", async () => {
    const p = Bun.spawn([bin, "-addr", h.agent.address, "-net-mac", MAC, "network"], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`interop-client exit ${code}: ${err}\n${out}`);
    const r = JSON.parse(out.trim());
    expect(r).toMatchObject({
      scenario: "network", update_interface: "OK", update_routes: "OK", add_arp_neighbors: "OK", list_interfaces: "OK",
      list_routes: "OK", name: "eth0", mtu: 1450, hw_addr: MAC, eth0_hw_addr: MAC, eth0_addresses: ["10.244.2.5/24"],
      unknown_mac: "NotFound", unknown_mac_link_not_found: true,
    });
    expect(r.routes.sort()).toEqual(["10.244.2.0/24 dev eth0", "default via 10.244.2.1 dev eth0"]);

    const [link] = h.ipj("addr", "show", "dev", "eth0");
    expect(link).toMatchObject({ ifname: "eth0", mtu: 1450, address: MAC });
    expect(link.flags).toContain("UP");
    expect(link.addr_info.filter((a: any) => a.family === "inet").map((a: any) => `${a.local}/${a.prefixlen}`)).toEqual(["10.244.2.5/24"]);
    const routes = h.ipj("-d", "route", "show", "table", "main");
    expect(routes.map((x) => `${x.dst} ${x.gateway ?? "-"} ${x.dev} ${x.protocol}`).sort()).toEqual([
      "10.244.2.0/24 - eth0 boot", "default 10.244.2.1 eth0 boot",
    ]);
    expect(h.ipj("neigh", "show", "dev", "eth0")).toContainEqual(expect.objectContaining({ dst: "10.244.2.1", lladdr: "02:00:0a:f4:02:01", state: ["PERMANENT"] }));
  });
});
