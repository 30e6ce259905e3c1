// interop-client: containerd's Go ttRPC client (the library the Kata Go runtime uses) driving our
// agent. Each scenario prints one JSON line {"scenario":..., "ok":bool, "code":"...", ...};
// the Bun test asserts on those lines. Built offline from Debian's Go packages (GOPATH mode).
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "kataproto/grpc"
)

// raw is a message whose bytes we choose: used to send payloads no generated type would produce.
type raw struct{ b []byte }

func (r *raw) Reset()                   { r.b = nil }
func (r *raw) String() string           { return fmt.Sprintf("raw(%d bytes)", len(r.b)) }
func (r *raw) ProtoMessage()            {}
func (r *raw) Marshal() ([]byte, error) { return r.b, nil }
func (r *raw) Unmarshal(b []byte) error { r.b = append([]byte(nil), b...); return nil }

type result map[string]interface{}

func emit(r result) {
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

func codeOf(err error) string {
	if err == nil {
		return "OK"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "DeadlineExceeded"
	}
	return status.Code(err).String()
}

func msgOf(err error) string {
	if err == nil {
		return ""
	}
	if s, ok := status.FromError(err); ok {
		return s.Message()
	}
	return err.Error()
}

func dial(addr string) (*ttrpc.Client, net.Conn) {
	path := strings.TrimPrefix(addr, "unix://")
	conn, err := net.Dial("unix", path)
	if err != nil {
		emit(result{"scenario": "dial", "ok": false, "error": err.Error()})
		os.Exit(1)
	}
	return ttrpc.NewClient(conn), conn
}

func ctxT(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func main() {
	addr := flag.String("addr", "", "unix:///path of the agent")
	rootfs := flag.String("rootfs", "", "container scenarios: absolute path of a busybox rootfs")
	cgParent := flag.String("cgroup-parent", "kata-interop", "container scenarios: cgroup parent of the containers")
	netMAC := flag.String("net-mac", "", "network scenario: MAC of the link to configure as eth0")
	devLoop := flag.String("dev-loop", "", "devices scenario: a loop device holding the container's disk")
	podFile := flag.String("pod", "", "pod-replay: JSON file with the CreateSandbox and CreateContainer requests (pod.go)")
	flag.Parse()
	cs := &containerScenarios{rootfs: *rootfs, cgParent: *cgParent}
	c, _ := dial(*addr)
	defer c.Close()
	health := pb.NewHealthClient(c)

	for _, sc := range flag.Args() {
		switch sc {
		case "check":
			ctx, cancel := ctxT(5 * time.Second)
			r, err := health.Check(ctx, &pb.CheckRequest{})
			cancel()
			out := result{"scenario": sc, "code": codeOf(err), "message": msgOf(err)}
			if r != nil {
				out["status"] = r.Status.String()
			}
			emit(out)
		case "version":
			ctx, cancel := ctxT(5 * time.Second)
			r, err := health.Version(ctx, &pb.CheckRequest{})
			cancel()
			out := result{"scenario": sc, "code": codeOf(err)}
			if r != nil {
				out["grpc_version"] = r.GrpcVersion
				out["agent_version"] = r.AgentVersion
			}
			emit(out)
		case "unknown-service", "unknown-method", "bad-payload", "oversize":
			svc, method, payload := "grpc.Health", "Check", []byte{}
			switch sc {
			case "unknown-service":
				svc = "grpc.NoSuchService"
			case "unknown-method":
				method = "NoSuchMethod"
			case "bad-payload":
				payload = []byte{0x0a, 0x7f, 0x41} // field 1, length 127, but only 1 byte follows
			case "oversize":
				payload = make([]byte, 5<<20)
			}
			ctx, cancel := ctxT(10 * time.Second)
			err := c.Call(ctx, svc, method, &raw{b: payload}, &raw{})
			cancel()
			emit(result{"scenario": sc, "code": codeOf(err), "message": msgOf(err)})
		case "concurrent":
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, bad := 0, 0
			for i := 0; i < 100; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := ctxT(10 * time.Second)
					defer cancel()
					r, err := health.Check(ctx, &pb.CheckRequest{})
					mu.Lock()
					defer mu.Unlock()
					if err == nil && r.Status == pb.HealthCheckResponse_SERVING {
						ok++
					} else {
						bad++
					}
				}()
			}
			wg.Wait()
			emit(result{"scenario": sc, "ok": ok, "failed": bad})
		case "deadline":
			// GetOOMEvent is a long poll: with no OOM it never answers, so the deadline decides.
			agent := pb.NewAgentServiceClient(c)
			ctx, cancel := ctxT(300 * time.Millisecond)
			t0 := time.Now()
			_, err := agent.GetOOMEvent(ctx, &pb.GetOOMEventRequest{})
			cancel()
			emit(result{"scenario": sc, "code": codeOf(err), "ms": time.Since(t0).Milliseconds()})
		case "disconnect":
			// A second connection starts a long call and vanishes in the middle of it.
			c2, conn2 := dial(*addr)
			agent := pb.NewAgentServiceClient(c2)
			go func() {
				time.Sleep(150 * time.Millisecond)
				conn2.Close()
			}()
			_, err := agent.GetOOMEvent(context.Background(), &pb.GetOOMEventRequest{})
			c2.Close()
			emit(result{"scenario": sc, "code": codeOf(err)})
		case "lifecycle":
			cs.lifecycle(pb.NewAgentServiceClient(c))
		case "exec-cat":
			cs.execCat(pb.NewAgentServiceClient(c))
		case "oom":
			cs.oom(pb.NewAgentServiceClient(c))
		case "network":
			networkScenario(pb.NewAgentServiceClient(c), *netMAC)
		case "devices":
			cs.devices(pb.NewAgentServiceClient(c), *devLoop)
		case "pod-replay":
			podReplay(pb.NewAgentServiceClient(c), *podFile)
		default:
			if podScenario(sc, c, cs) {
				continue
			}
			emit(result{"scenario": sc, "ok": false, "error": "unknown scenario"})
			os.Exit(2)
		}
	}
	_ = codes.OK
}

// ---- container scenarios ---------------------------------------------------------------------
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
