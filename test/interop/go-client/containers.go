// Container scenarios of the interop client: lifecycle, exec with stdin, OOM; the spec is
// runc's `runc spec` template for the given busybox rootfs.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	pb "kataproto/grpc"
	"sync"
	"time"
)

// The calls the Kata Go runtime (and containerd's shim) make for a container's life. Every
// scenario removes what it created, also after a failed step, and prints one JSON line.

type containerScenarios struct {
	rootfs   string
	cgParent string
}

// spec is runc's `runc spec` template (what minimalSpec in src/ctl/oci-json.ts produces) for our rootfs.
func (cs *containerScenarios) spec(cid string, args []string, mem int64) *pb.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	res := &pb.LinuxResources{Devices: []*pb.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	if mem > 0 {
		res.Memory = &pb.LinuxMemory{Limit: mem, Swap: mem}
	}
	return &pb.Spec{
		Version: "1.0.2-dev",
		Process: &pb.Process{
			User:            &pb.User{},
			Args:            args,
			Env:             []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Cwd:             "/",
			Capabilities:    &pb.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			Rlimits:         []*pb.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &pb.Root{Path: cs.rootfs},
		Hostname: "interop",
		Mounts: []*pb.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &pb.Linux{
			Resources:     res,
			CgroupsPath:   "/" + cs.cgParent + "/" + cid,
			Namespaces:    []*pb.LinuxNamespace{{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"}},
			MaskedPaths:   []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

func call(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// readAll reads one stream until EOF (empty data), as the shim's io copy does.
func readAll(agent pb.AgentServiceService, cid, execID string, stderr bool) ([]byte, error) {
	var out bytes.Buffer
	for {
		ctx, cancel := call(30 * time.Second)
		req := &pb.ReadStreamRequest{ContainerId: cid, ExecId: execID, Len: 65536}
		var r *pb.ReadStreamResponse
		var err error
		if stderr {
			r, err = agent.ReadStderr(ctx, req)
		} else {
			r, err = agent.ReadStdout(ctx, req)
		}
		cancel()
		if err != nil {
			return out.Bytes(), err
		}
		if len(r.Data) == 0 {
			return out.Bytes(), nil
		}
		out.Write(r.Data)
	}
}

func (cs *containerScenarios) create(agent pb.AgentServiceService, cid string, spec *pb.Spec) error {
	ctx, cancel := call(30 * time.Second)
	defer cancel()
	// The Go runtime addresses the init process by exec_id = container id.
	_, err := agent.CreateContainer(ctx, &pb.CreateContainerRequest{ContainerId: cid, ExecId: cid, OCI: spec})
	return err
}

func start(agent pb.AgentServiceService, cid string) error {
	ctx, cancel := call(10 * time.Second)
	defer cancel()
	_, err := agent.StartContainer(ctx, &pb.StartContainerRequest{ContainerId: cid})
	return err
}

func wait(agent pb.AgentServiceService, cid, execID string) (int32, error) {
	ctx, cancel := call(60 * time.Second)
	defer cancel()
	r, err := agent.WaitProcess(ctx, &pb.WaitProcessRequest{ContainerId: cid, ExecId: execID})
	if err != nil {
		return -1, err
	}
	return r.Status, nil
}

func remove(agent pb.AgentServiceService, cid string) error {
	ctx, cancel := call(30 * time.Second)
	defer cancel()
	_, err := agent.RemoveContainer(ctx, &pb.RemoveContainerRequest{ContainerId: cid, Timeout: 10})
	return err
}

// failed records the first failing step in out and reports whether there was one.
func failed(out result, step string, err error) bool {
	if err == nil {
		return false
	}
	if _, seen := out["step"]; !seen {
		out["step"], out["code"], out["message"] = step, codeOf(err), msgOf(err)
	}
	return true
}

func (cs *containerScenarios) lifecycle(agent pb.AgentServiceService) {
	out := result{"scenario": "lifecycle"}
	defer emit(out)
	cid := "go-lifecycle"
	t0 := time.Now()
	if failed(out, "CreateContainer", cs.create(agent, cid, cs.spec(cid, []string{"sh", "-c", "echo hello; echo err >&2; exit 7"}, 0))) {
		return
	}
	defer func() { failed(out, "RemoveContainer", remove(agent, cid)) }()
	if failed(out, "StartContainer", start(agent, cid)) {
		return
	}
	var stdout, stderr []byte
	var errOut, errErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); stdout, errOut = readAll(agent, cid, cid, false) }()
	go func() { defer wg.Done(); stderr, errErr = readAll(agent, cid, cid, true) }()
	status, err := wait(agent, cid, cid)
	wg.Wait()
	if failed(out, "ReadStdout", errOut) || failed(out, "ReadStderr", errErr) || failed(out, "WaitProcess", err) {
		return
	}
	out["code"], out["stdout"], out["stderr"], out["exit"] = "OK", string(stdout), string(stderr), status
	out["ms"] = time.Since(t0).Milliseconds()
}

func (cs *containerScenarios) execCat(agent pb.AgentServiceService) {
	out := result{"scenario": "exec-cat"}
	defer emit(out)
	first, second := "go-sleeper", "go-cat"
	for _, cid := range []string{first, second} {
		if failed(out, "CreateContainer "+cid, cs.create(agent, cid, cs.spec(cid, []string{"sleep", "1000"}, 0))) {
			return
		}
		defer func(cid string) { failed(out, "RemoveContainer "+cid, remove(agent, cid)) }(cid)
		if failed(out, "StartContainer "+cid, start(agent, cid)) {
			return
		}
	}
	proc := cs.spec(second, []string{"cat"}, 0).Process
	ctx, cancel := call(10 * time.Second)
	_, err := agent.ExecProcess(ctx, &pb.ExecProcessRequest{ContainerId: second, ExecId: "cat-1", Process: proc})
	cancel()
	if failed(out, "ExecProcess", err) {
		return
	}
	var input bytes.Buffer
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&input, "line %d from the Go client\n", i)
	}
	var echoed []byte
	var readErr error
	done := make(chan struct{})
	go func() { echoed, readErr = readAll(agent, second, "cat-1", false); close(done) }()
	data := input.Bytes()
	for off := 0; off < len(data); off += 32768 {
		end := off + 32768
		if end > len(data) {
			end = len(data)
		}
		ctx, cancel := call(10 * time.Second)
		r, err := agent.WriteStdin(ctx, &pb.WriteStreamRequest{ContainerId: second, ExecId: "cat-1", Data: data[off:end]})
		cancel()
		if failed(out, "WriteStdin", err) {
			return
		}
		if int(r.Len) != end-off {
			out["step"], out["code"], out["message"] = "WriteStdin", "ShortWrite", fmt.Sprintf("wrote %d of %d", r.Len, end-off)
			return
		}
	}
	ctx, cancel = call(10 * time.Second)
	_, err = agent.CloseStdin(ctx, &pb.CloseStdinRequest{ContainerId: second, ExecId: "cat-1"})
	cancel()
	if failed(out, "CloseStdin", err) {
		return
	}
	<-done
	catStatus, err := wait(agent, second, "cat-1")
	if failed(out, "ReadStdout", readErr) || failed(out, "WaitProcess cat", err) {
		return
	}
	sumIn, sumOut := sha256.Sum256(data), sha256.Sum256(echoed)
	out["in_bytes"], out["out_bytes"] = len(data), len(echoed)
	out["same"] = hex.EncodeToString(sumIn[:]) == hex.EncodeToString(sumOut[:])
	out["cat_exit"] = catStatus
	ctx, cancel = call(10 * time.Second)
	_, err = agent.SignalProcess(ctx, &pb.SignalProcessRequest{ContainerId: second, ExecId: second, Signal: 9})
	cancel()
	if failed(out, "SignalProcess", err) {
		return
	}
	status, err := wait(agent, second, second)
	if failed(out, "WaitProcess init", err) {
		return
	}
	out["code"], out["killed_exit"] = "OK", status
}

func (cs *containerScenarios) oom(agent pb.AgentServiceService) {
	out := result{"scenario": "oom"}
	defer emit(out)
	cid := "go-oom"
	events := make(chan string, 1)
	go func() {
		ctx, cancel := call(30 * time.Second)
		defer cancel()
		r, err := agent.GetOOMEvent(ctx, &pb.GetOOMEventRequest{})
		if err != nil {
			events <- "error: " + msgOf(err)
			return
		}
		events <- r.ContainerId
	}()
	// tail keeps the whole "line" of /dev/zero in memory: 100 MiB and more against a 32 MiB limit.
	if failed(out, "CreateContainer", cs.create(agent, cid, cs.spec(cid, []string{"tail", "/dev/zero"}, 32<<20))) {
		return
	}
	defer func() { failed(out, "RemoveContainer", remove(agent, cid)) }()
	if failed(out, "StartContainer", start(agent, cid)) {
		return
	}
	status, err := wait(agent, cid, cid)
	if failed(out, "WaitProcess", err) {
		return
	}
	out["exit"] = status
	select {
	case id := <-events:
		out["oom_container"] = id
	case <-time.After(10 * time.Second):
		out["oom_container"] = ""
	}
	out["code"] = "OK"
}
