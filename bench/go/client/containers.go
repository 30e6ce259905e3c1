// Container rows: lifecycle, exec, stdout throughput, and the ReadStdout ceiling.
package main

import (
	"fmt"
	"time"

	"github.com/containerd/ttrpc"
	pb "kataproto/grpc"
)

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

// mustCreate and mustStart end the run with the agent's error.
func (g *agent) mustCreate(id string, spec *pb.Spec) {
	if err := g.create(id, spec); err != nil {
		fail("CreateContainer: %v", err)
	}
}

func (g *agent) mustStart(id string) {
	if err := g.start(id); err != nil {
		fail("StartContainer: %v", err)
	}
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
	g.mustCreate(id, spec)
	defer g.remove(id)
	g.mustStart(id)
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
	g.mustCreate(id, spec)
	defer g.remove(id)
	t0 := time.Now()
	g.mustStart(id)
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
