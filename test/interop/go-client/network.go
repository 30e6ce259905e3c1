package main

// ---- network scenario ------------------------------------------------------------------------
// What the Kata Go runtime sends for a CNI pod before CreateSandbox (kataAgent.updateInterface,
// updateRoutes, addARPNeighbors), then the List* calls and the unknown-MAC case its retry loop
// keys on. One JSON line; the Bun test checks the namespace with `ip -j` afterwards.

import (
	"strings"
	"time"

	pb "kataproto/grpc"
	types "kataproto/types"
)

func networkScenario(a pb.AgentServiceService, mac string) {
	out := result{"scenario": "network"}
	defer func() { emit(out) }()
	step := func(name string, err error) bool {
		out[name] = codeOf(err)
		if err != nil {
			out[name+"_message"] = msgOf(err)
		}
		return err == nil
	}

	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	iface, err := a.UpdateInterface(ctx, &pb.UpdateInterfaceRequest{Interface: &types.Interface{
		Name:        "eth0",
		HwAddr:      mac,
		IPAddresses: []*types.IPAddress{{Family: types.IPFamily_v4, Address: "10.244.2.5", Mask: "24"}},
		Mtu:         1450,
		Type:        "veth",
		RawFlags:    0x1003,
	}})
	if !step("update_interface", err) {
		return
	}
	out["name"] = iface.Name
	out["mtu"] = iface.Mtu
	out["hw_addr"] = iface.HwAddr

	routes, err := a.UpdateRoutes(ctx, &pb.UpdateRoutesRequest{Routes: &pb.Routes{Routes: []*types.Route{
		{Dest: "", Gateway: "10.244.2.1", Device: "eth0", Family: types.IPFamily_v4},
		{Dest: "10.244.2.0/24", Device: "eth0", Source: "10.244.2.5", Scope: 253, Family: types.IPFamily_v4},
	}}})
	if !step("update_routes", err) {
		return
	}
	out["routes_answered"] = len(routes.Routes)

	_, err = a.AddARPNeighbors(ctx, &pb.AddARPNeighborsRequest{Neighbors: &pb.ARPNeighbors{ARPNeighbors: []*types.ARPNeighbor{
		{ToIPAddress: &types.IPAddress{Family: types.IPFamily_v4, Address: "10.244.2.1", Mask: "32"}, Device: "eth0", Lladdr: "02:00:0a:f4:02:01"},
	}}})
	if !step("add_arp_neighbors", err) {
		return
	}

	ifs, err := a.ListInterfaces(ctx, &pb.ListInterfacesRequest{})
	if !step("list_interfaces", err) {
		return
	}
	for _, i := range ifs.Interfaces {
		if i.Name != "eth0" {
			continue
		}
		var addrs []string
		for _, ip := range i.IPAddresses {
			if ip.Family == types.IPFamily_v4 {
				addrs = append(addrs, ip.Address+"/"+ip.Mask)
			}
		}
		out["eth0_addresses"] = addrs
		out["eth0_hw_addr"] = i.HwAddr
	}

	list, err := a.ListRoutes(ctx, &pb.ListRoutesRequest{})
	if !step("list_routes", err) {
		return
	}
	var dests []string
	for _, r := range list.Routes {
		if r.Family == types.IPFamily_v4 {
			d := r.Dest
			if d == "" {
				d = "default via " + r.Gateway
			}
			dests = append(dests, d+" dev "+r.Device)
		}
	}
	out["routes"] = dests

	_, err = a.UpdateInterface(ctx, &pb.UpdateInterfaceRequest{Interface: &types.Interface{Name: "eth0", HwAddr: "02:00:00:00:99:98"}})
	out["unknown_mac"] = codeOf(err)
	out["unknown_mac_link_not_found"] = err != nil && strings.Contains(msgOf(err), "Link not found")
}
