// bench-client: containerd's Go ttRPC client (the library Kata's Go runtime uses to talk to the
// agent) driving one server over ONE connection. Each subcommand prints one JSON object on
// stdout; bench/run.ts runs it alternately against our agent and against the anchors.
//
//   check     -addr A -inflight N -calls M [-warmup W]      Health.Check latency and throughput
//   lifecycle -addr A -spec F -n K                          Create → Start → Wait → Remove, K times
//   exec      -addr A -spec F -n K                          ExecProcess → WaitProcess of /bin/true, K times
//   stdout    -addr A -spec F -len L -bytes B               ReadStdout until EOF; B bytes expected
//   readonly  -addr A -len L -bytes B                       ReadStdout only (no container) until B bytes:
//                                                           against bench-server, the protocol's ceiling
//   startup   -addr A -n K -- CMD ARGS...                   exec CMD until its Check answers, K times
//   command   -n K -- CMD ARGS...                           run CMD to completion K times ("{i}" in an
//                                                           argument becomes the iteration number)
//
// F is a grpc.Spec encoded as protobuf by bench/run.ts (from our minimalSpec), so the Go side
// never needs to know how a spec is built.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"

	pb "kataproto/grpc"
)

func fail(format string, args ...interface{}) {
	b, _ := json.Marshal(map[string]string{"error": fmt.Sprintf(format, args...)})
	fmt.Println(string(b))
	os.Exit(1)
}

func emit(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fail("json: %v", err)
	}
	fmt.Println(string(b))
}

func socketPath(addr string) string { return strings.TrimPrefix(addr, "unix://") }

func dial(addr string) *ttrpc.Client {
	conn, err := net.Dial("unix", socketPath(addr))
	if err != nil {
		fail("dial %s: %v", addr, err)
	}
	return ttrpc.NewClient(conn)
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}

type dist struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_us"`
	P99 float64 `json:"p99_us"`
	Min float64 `json:"min_us"`
	Max float64 `json:"max_us"`
}

func summarize(samples []float64) dist {
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	if len(s) == 0 {
		return dist{}
	}
	return dist{N: len(s), P50: quantile(s, 0.5), P99: quantile(s, 0.99), Min: s[0], Max: s[len(s)-1]}
}

func loadSpec(path string) *pb.Spec {
	b, err := ioutil.ReadFile(path)
	if err != nil {
		fail("spec: %v", err)
	}
	var spec pb.Spec
	if err := spec.Unmarshal(b); err != nil {
		fail("spec %s: %v", path, err)
	}
	return &spec
}

func bg() context.Context { return context.Background() }

// ---- check ----

func runCheck(addr string, inflight, calls, warmup int) {
	c := dial(addr)
	defer c.Close()
	h := pb.NewHealthClient(c)
	for i := 0; i < warmup; i++ {
		if _, err := h.Check(bg(), &pb.CheckRequest{}); err != nil {
			fail("warmup Check: %v", err)
		}
	}
	lat := make([]float64, calls)
	var next int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < inflight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if int(i) >= calls {
					return
				}
				s := time.Now()
				r, err := h.Check(bg(), &pb.CheckRequest{})
				lat[i] = micros(time.Since(s))
				if err == nil && r.Status != pb.HealthCheckResponse_SERVING {
					err = fmt.Errorf("status %v", r.Status)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	if firstErr != nil {
		fail("Check: %v", firstErr)
	}
	d := summarize(lat)
	emit(map[string]interface{}{"mode": "check", "inflight": inflight, "calls": calls, "seconds": wall.Seconds(),
		"per_sec": float64(calls) / wall.Seconds(), "latency": d})
}

// ---- containers ----

type agent struct {
	c *ttrpc.Client
	a pb.AgentServiceService
}

func newAgent(addr string) *agent {
	c := dial(addr)
	return &agent{c: c, a: pb.NewAgentServiceClient(c)}
}

func (g *agent) create(id string, spec *pb.Spec) error {
	_, err := g.a.CreateContainer(bg(), &pb.CreateContainerRequest{ContainerId: id, ExecId: id, OCI: spec})
	return err
}

func (g *agent) start(id string) error {
	_, err := g.a.StartContainer(bg(), &pb.StartContainerRequest{ContainerId: id})
	return err
}

func (g *agent) wait(id, execID string) (int32, error) {
	r, err := g.a.WaitProcess(bg(), &pb.WaitProcessRequest{ContainerId: id, ExecId: execID})
	if err != nil {
		return 0, err
	}
	return r.Status, nil
}

func (g *agent) remove(id string) error {
	_, err := g.a.RemoveContainer(bg(), &pb.RemoveContainerRequest{ContainerId: id, Timeout: 0})
	return err
}

func runLifecycle(addr, specPath string, n int, prefix string) {
	spec := loadSpec(specPath)
	g := newAgent(addr)
	defer g.c.Close()
	total := make([]float64, 0, n)
	steps := map[string][]float64{"create": nil, "start": nil, "wait": nil, "remove": nil}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		t0 := time.Now()
		if err := g.create(id, spec); err != nil {
			fail("CreateContainer %s: %v", id, err)
		}
		t1 := time.Now()
		if err := g.start(id); err != nil {
			fail("StartContainer %s: %v", id, err)
		}
		t2 := time.Now()
		st, err := g.wait(id, id)
		if err != nil || st != 0 {
			fail("WaitProcess %s: status %d err %v", id, st, err)
		}
		t3 := time.Now()
		if err := g.remove(id); err != nil {
			fail("RemoveContainer %s: %v", id, err)
		}
		t4 := time.Now()
		total = append(total, micros(t4.Sub(t0)))
		steps["create"] = append(steps["create"], micros(t1.Sub(t0)))
		steps["start"] = append(steps["start"], micros(t2.Sub(t1)))
		steps["wait"] = append(steps["wait"], micros(t3.Sub(t2)))
		steps["remove"] = append(steps["remove"], micros(t4.Sub(t3)))
	}
	out := map[string]interface{}{"mode": "lifecycle", "samples_us": total}
	for k, v := range steps {
		out[k] = summarize(v)
	}
	emit(out)
}

func trueProcess() *pb.Process {
	return &pb.Process{
		Args: []string{"/bin/true"},
		Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cwd:  "/",
		User: &pb.User{UID: 0, GID: 0},
	}
}

// The spec's own process keeps the container running (a long sleep); each sample is one
// ExecProcess of /bin/true followed by its WaitProcess.
func runExec(addr, specPath string, n int, id string) {
	spec := loadSpec(specPath)
	g := newAgent(addr)
	defer g.c.Close()
	if err := g.create(id, spec); err != nil {
		fail("CreateContainer: %v", err)
	}
	defer g.remove(id)
	if err := g.start(id); err != nil {
		fail("StartContainer: %v", err)
	}
	samples := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		eid := fmt.Sprintf("e%d", i)
		t0 := time.Now()
		if _, err := g.a.ExecProcess(bg(), &pb.ExecProcessRequest{ContainerId: id, ExecId: eid, Process: trueProcess()}); err != nil {
			fail("ExecProcess: %v", err)
		}
		st, err := g.wait(id, eid)
		if err != nil || st != 0 {
			fail("WaitProcess %s: status %d err %v", eid, st, err)
		}
		samples = append(samples, micros(time.Since(t0)))
	}
	_, _ = g.a.SignalProcess(bg(), &pb.SignalProcessRequest{ContainerId: id, Signal: 9})
	emit(map[string]interface{}{"mode": "exec", "samples_us": samples, "latency": summarize(samples)})
}

// The container writes `want` bytes to stdout; we read them with ReadStdout(len) until EOF.
// The clock runs from StartContainer to EOF: creation is not part of the stream.
func runStdout(addr, specPath string, readLen uint32, want int64, id string) {
	spec := loadSpec(specPath)
	g := newAgent(addr)
	defer g.c.Close()
	if err := g.create(id, spec); err != nil {
		fail("CreateContainer: %v", err)
	}
	defer g.remove(id)
	t0 := time.Now()
	if err := g.start(id); err != nil {
		fail("StartContainer: %v", err)
	}
	var got int64
	reads := 0
	for {
		r, err := g.a.ReadStdout(bg(), &pb.ReadStreamRequest{ContainerId: id, ExecId: id, Len: readLen})
		if err != nil {
			fail("ReadStdout after %d bytes: %v", got, err)
		}
		if len(r.Data) == 0 {
			break
		}
		got += int64(len(r.Data))
		reads++
	}
	wall := time.Since(t0)
	st, err := g.wait(id, id)
	if err != nil || st != 0 {
		fail("WaitProcess: status %d err %v", st, err)
	}
	if got != want {
		fail("read %d bytes, want %d", got, want)
	}
	emit(map[string]interface{}{"mode": "stdout", "bytes": got, "reads": reads, "seconds": wall.Seconds(),
		"mib_per_sec": float64(got) / 1048576 / wall.Seconds()})
}

func runReadOnly(addr string, readLen uint32, want int64) {
	g := newAgent(addr)
	defer g.c.Close()
	var got int64
	reads := 0
	t0 := time.Now()
	for got < want {
		r, err := g.a.ReadStdout(bg(), &pb.ReadStreamRequest{ContainerId: "x", ExecId: "x", Len: readLen})
		if err != nil {
			fail("ReadStdout after %d bytes: %v", got, err)
		}
		if len(r.Data) == 0 {
			fail("empty read after %d bytes", got)
		}
		got += int64(len(r.Data))
		reads++
	}
	wall := time.Since(t0)
	emit(map[string]interface{}{"mode": "readonly", "bytes": got, "reads": reads, "seconds": wall.Seconds(),
		"mib_per_sec": float64(got) / 1048576 / wall.Seconds()})
}

// ---- start-to-ready ----

// Starts argv, dials its socket every 50 µs until it accepts, then waits for one Check.
// The clock starts just before fork/exec and stops when the Check answer arrives.
func startOnce(addr string, argv []string) float64 {
	path := socketPath(addr)
	_ = os.Remove(path)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = nil, nil
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		fail("start %v: %v", argv, err)
	}
	var conn net.Conn
	deadline := t0.Add(15 * time.Second)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			conn = c
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			fail("%v not listening after 15 s", argv)
		}
		time.Sleep(50 * time.Microsecond)
	}
	cl := ttrpc.NewClient(conn)
	r, err := pb.NewHealthClient(cl).Check(bg(), &pb.CheckRequest{})
	elapsed := micros(time.Since(t0))
	if err != nil || r.Status != pb.HealthCheckResponse_SERVING {
		_ = cmd.Process.Kill()
		fail("Check after start: %v", err)
	}
	cl.Close()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	_ = os.Remove(path)
	return elapsed
}

func runStartup(addr string, n int, argv []string) {
	samples := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		samples = append(samples, startOnce(addr, argv))
	}
	emit(map[string]interface{}{"mode": "startup", "samples_us": samples, "latency": summarize(samples)})
}

// The anchors' whole commands (runc run, crun run, runc exec), timed with the same clock and
// from the same kind of parent process as the agent's RPCs. A failing command fails the run.
func runCommand(n int, argv []string) {
	samples := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		args := make([]string, len(argv))
		for j, a := range argv {
			args[j] = strings.ReplaceAll(a, "{i}", fmt.Sprint(i))
		}
		cmd := exec.Command(args[0], args[1:]...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		t0 := time.Now()
		err := cmd.Run()
		samples = append(samples, micros(time.Since(t0)))
		if err != nil {
			fail("%v: %v: %s", args, err, stderr.String())
		}
	}
	emit(map[string]interface{}{"mode": "command", "samples_us": samples, "latency": summarize(samples)})
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: bench-client check|lifecycle|exec|stdout|startup [flags]")
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	addr := fs.String("addr", "", "unix:///path of the server")
	inflight := fs.Int("inflight", 1, "calls in flight (check)")
	calls := fs.Int("calls", 10000, "calls (check)")
	warmup := fs.Int("warmup", 200, "unmeasured calls first (check)")
	spec := fs.String("spec", "", "grpc.Spec as protobuf bytes")
	n := fs.Int("n", 10, "iterations")
	id := fs.String("id", "bench", "container id (prefix)")
	readLen := fs.Uint("len", 1<<20, "ReadStdout len")
	want := fs.Int64("bytes", 1<<30, "bytes the container writes")
	_ = fs.Parse(os.Args[2:])
	switch mode {
	case "check":
		runCheck(*addr, *inflight, *calls, *warmup)
	case "lifecycle":
		runLifecycle(*addr, *spec, *n, *id)
	case "exec":
		runExec(*addr, *spec, *n, *id)
	case "stdout":
		runStdout(*addr, *spec, uint32(*readLen), *want, *id)
	case "readonly":
		runReadOnly(*addr, uint32(*readLen), *want)
	case "startup":
		runStartup(*addr, *n, fs.Args())
	case "command":
		runCommand(*n, fs.Args())
	default:
		fail("unknown mode %s", mode)
	}
}
