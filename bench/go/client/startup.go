// Start-up rows: exec a server until its Check answers; run a command to completion.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	pb "kataproto/grpc"
)

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
	// CPU of each command's whole process tree: wait4's rusage covers the command and every
	// descendant it waited for (crun run waits for the container's process).
	cpu := make([]float64, 0, n)
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
		cpu = append(cpu, micros(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()))
	}
	emit(map[string]interface{}{"mode": "command", "samples_us": samples, "cpu_us": cpu, "latency": summarize(samples)})
}
