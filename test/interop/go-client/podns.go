// Pod-namespace scenarios: what the Kata Go runtime sends around a pod (CreateSandbox, the pause and app
// containers with the namespaces constrainGRPCSpec leaves, OnlineCPUMem after each container,
// GetMetrics from kata-monitor, SIGTERM at deletion, DestroySandbox), driven by containerd's
// ttRPC client. Each scenario prints one JSON line.
package main

import (
	"strings"
	"time"

	"github.com/containerd/ttrpc"

	pb "kataproto/grpc"
)

// runtimeShaped is cs.spec with the namespaces the runtime leaves: ipc, uts, mount.
func (cs *containerScenarios) runtimeShaped(cid string, args []string) *pb.Spec {
	s := cs.spec(cid, args, 0)
	s.Hostname = "go-pod"
	s.Linux.Namespaces = []*pb.LinuxNamespace{{Type: "ipc"}, {Type: "uts"}, {Type: "mount"}}
	return s
}

// execOut runs a shell command in a container and returns its stdout.
func (cs *containerScenarios) execOut(agent pb.AgentServiceService, cid, execID, script string) (string, error) {
	proc := cs.spec(cid, []string{"sh", "-c", script}, 0).Process
	ctx, cancel := call(10 * time.Second)
	_, err := agent.ExecProcess(ctx, &pb.ExecProcessRequest{ContainerId: cid, ExecId: execID, Process: proc})
	cancel()
	if err != nil {
		return "", err
	}
	out, err := readAll(agent, cid, execID, false)
	if err != nil {
		return "", err
	}
	_, err = wait(agent, cid, execID)
	return string(out), err
}

// pod: CreateSandbox, pause + app (sandbox_pidns), OnlineCPUMem as the runtime sends it after each
// container, namespaces compared from inside, SIGTERM to the app's init, metrics, DestroySandbox.
func (cs *containerScenarios) pod(agent pb.AgentServiceService) {
	out := result{"scenario": "pod"}
	defer emit(out)
	ctx, cancel := call(10 * time.Second)
	_, err := agent.CreateSandbox(ctx, &pb.CreateSandboxRequest{Hostname: "go-pod", SandboxId: "go-pod", SandboxPidns: false})
	cancel()
	if failed(out, "CreateSandbox", err) {
		return
	}
	for _, c := range []struct {
		cid    string
		args   []string
		shared bool
	}{{"go-pause", []string{"sleep", "1000"}, false}, {"go-app", []string{"sleep", "999"}, true}} {
		ctx, cancel := call(30 * time.Second)
		_, err := agent.CreateContainer(ctx, &pb.CreateContainerRequest{ContainerId: c.cid, ExecId: c.cid, OCI: cs.runtimeShaped(c.cid, c.args), SandboxPidns: c.shared})
		cancel()
		if failed(out, "CreateContainer "+c.cid, err) {
			return
		}
		// updateResources → updateMemory: always sent after a container is created.
		ctx, cancel = call(10 * time.Second)
		_, err = agent.OnlineCPUMem(ctx, &pb.OnlineCPUMemRequest{Wait: false, NbCpus: 0, CpuOnly: false})
		cancel()
		if failed(out, "OnlineCPUMem after "+c.cid, err) {
			return
		}
		if failed(out, "StartContainer "+c.cid, start(agent, c.cid)) {
			return
		}
	}
	nsScript := "for f in ipc uts pid; do readlink /proc/self/ns/$f; done; hostname"
	pause, err := cs.execOut(agent, "go-pause", "ns-pause", nsScript)
	if failed(out, "ExecProcess go-pause", err) {
		return
	}
	app, err := cs.execOut(agent, "go-app", "ns-app", nsScript+"; ps -o args | grep -c '^sleep 1000$'")
	if failed(out, "ExecProcess go-app", err) {
		return
	}
	out["pause_ns"], out["app_ns"] = strings.Fields(pause), strings.Fields(app)
	// Deletion: SIGTERM to an init without a handler must end it at once.
	t0 := time.Now()
	ctx, cancel = call(10 * time.Second)
	_, err = agent.SignalProcess(ctx, &pb.SignalProcessRequest{ContainerId: "go-app", ExecId: "go-app", Signal: 15})
	cancel()
	if failed(out, "SignalProcess SIGTERM", err) {
		return
	}
	status, err := wait(agent, "go-app", "go-app")
	if failed(out, "WaitProcess go-app", err) {
		return
	}
	out["term_exit"], out["term_ms"] = status, time.Since(t0).Milliseconds()
	ctx, cancel = call(10 * time.Second)
	m, err := agent.GetMetrics(ctx, &pb.GetMetricsRequest{})
	cancel()
	if failed(out, "GetMetrics", err) {
		return
	}
	out["metrics"] = m.Metrics
	for _, cid := range []string{"go-app", "go-pause"} {
		if failed(out, "RemoveContainer "+cid, remove(agent, cid)) {
			return
		}
	}
	ctx, cancel = call(10 * time.Second)
	_, err = agent.DestroySandbox(ctx, &pb.DestroySandboxRequest{})
	cancel()
	if failed(out, "DestroySandbox", err) {
		return
	}
	out["code"] = "OK"
}

// guest-rpcs: the small RPCs' answers as Kata gives them.
func guestRPCs(agent pb.AgentServiceService) {
	out := result{"scenario": "guest-rpcs"}
	defer emit(out)
	ctx, cancel := call(10 * time.Second)
	defer cancel()
	_, err := agent.MemAgentMemcgSet(ctx, &pb.MemAgentMemcgConfig{})
	out["memcg_code"], out["memcg_message"] = codeOf(err), msgOf(err)
	_, err = agent.MemAgentCompactSet(ctx, &pb.MemAgentCompactConfig{})
	out["compact_code"] = codeOf(err)
	_, err = agent.ReseedRandomDev(ctx, &pb.ReseedRandomDevRequest{})
	out["reseed_empty_code"] = codeOf(err)
	_, err = agent.ReseedRandomDev(ctx, &pb.ReseedRandomDevRequest{Data: []byte("0123456789abcdef0123456789abcdef")})
	out["reseed_code"] = codeOf(err)
	_, err = agent.AddSwapPath(ctx, &pb.AddSwapPathRequest{Path: "relative"})
	out["swap_relative_code"] = codeOf(err)
	_, err = agent.OnlineCPUMem(ctx, &pb.OnlineCPUMemRequest{Wait: true, NbCpus: 1, CpuOnly: true})
	out["online_one_cpu_code"] = codeOf(err)
	out["code"] = "OK"
}

// podScenario runs the scenarios of this file; false = not one of them.
func podScenario(sc string, c *ttrpc.Client, cs *containerScenarios) bool {
	switch sc {
	case "pod":
		cs.pod(pb.NewAgentServiceClient(c))
	case "guest-rpcs":
		guestRPCs(pb.NewAgentServiceClient(c))
	default:
		return false
	}
	return true
}
