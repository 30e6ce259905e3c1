package main

// ---- devices scenario ------------------------------------------------------------------------
// CreateContainer with a Device list as the Kata Go runtime sends it (kataAgent.appendDevices:
// type, id / vm_path, container_path; the spec still holding the host's numbers), then the bad
// inputs: a PCI path that does not parse, a disk that never comes (AddSwap). One JSON line.

import (
	"strings"
	"time"

	pb "kataproto/grpc"
)

func (cs *containerScenarios) devices(agent pb.AgentServiceService, loop string) {
	out := result{"scenario": "devices"}
	defer emit(out)
	cid := "go-devices"
	spec := cs.spec(cid, []string{"stat", "-c", "%t:%T", "/dev/xvdb"}, 0)
	spec.Linux.Devices = []*pb.LinuxDevice{{Path: "/dev/xvdb", Type: "b", Major: 8, Minor: 16, FileMode: 0o660}}
	spec.Linux.Resources.Devices = append(spec.Linux.Resources.Devices, &pb.LinuxDeviceCgroup{Allow: true, Type: "b", Major: 8, Minor: 16, Access: "rwm"})
	ctx, cancel := call(30 * time.Second)
	_, err := agent.CreateContainer(ctx, &pb.CreateContainerRequest{ContainerId: cid, ExecId: cid, OCI: spec,
		Devices: []*pb.Device{{Type: "mmioblk", VmPath: loop, ContainerPath: "/dev/xvdb"}}})
	cancel()
	if failed(out, "CreateContainer", err) {
		return
	}
	defer func() { failed(out, "RemoveContainer", remove(agent, cid)) }()
	if failed(out, "StartContainer", start(agent, cid)) {
		return
	}
	stdout, errOut := readAll(agent, cid, cid, false)
	status, err := wait(agent, cid, cid)
	if failed(out, "ReadStdout", errOut) || failed(out, "WaitProcess", err) {
		return
	}
	out["numbers"], out["exit"] = strings.TrimSpace(string(stdout)), status

	ctx, cancel = call(30 * time.Second)
	_, err = agent.CreateContainer(ctx, &pb.CreateContainerRequest{ContainerId: "go-devbad", ExecId: "go-devbad", OCI: cs.spec("go-devbad", []string{"true"}, 0),
		Devices: []*pb.Device{{Type: "blk", Id: "zz/01", ContainerPath: "/dev/xvdb"}}})
	cancel()
	out["bad_path_code"], out["bad_path_message"] = codeOf(err), msgOf(err)

	ctx, cancel = call(30 * time.Second)
	t0 := time.Now()
	_, err = agent.AddSwap(ctx, &pb.AddSwapRequest{PCIPath: []uint32{0x1e}})
	cancel()
	out["swap_code"], out["swap_message"], out["swap_ms"] = codeOf(err), msgOf(err), time.Since(t0).Milliseconds()
	out["code"] = "OK"
}
