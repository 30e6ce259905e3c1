// Start-up rows: exec a server until its Check answers; run a command to completion.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	pb "kataproto/grpc"
)

func startOnce(addr string, argv []string) float64 {
	path := socketPath(addr)
	_ = os.Remove(path)
	watch := watchDir(filepath.Dir(path))
	defer syscall.Close(watch)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = nil, nil
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		fail("start %v: %v", argv, err)
	}
	// Wait for the socket file to appear (inotify), then connect: the file appears at bind(),
	// listen() follows within microseconds. Polling connect instead was either coarse (Go's
	// time.Sleep(50µs) sleeps ~1.1 ms here, adding up to that to every sample) or, with a raw
	// 50 µs nanosleep, took CPU from the starting server on this 2-CPU machine.
	conn := dialWhenCreated(path, watch, t0.Add(15*time.Second))
	if conn == nil {
		_ = cmd.Process.Kill()
		fail("%v not listening after 15 s", argv)
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

// An inotify descriptor watching dir for created entries.
func watchDir(dir string) int {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		fail("inotify_init1: %v", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE); err != nil {
		fail("inotify_add_watch %s: %v", dir, err)
	}
	return fd
}

// Connects to the unix socket at path: tries at once, and again after each inotify event in its
// directory (waiting in select, no CPU spent while the server starts); once the file exists, retries
// every 20 µs until listen() has been called. nil at the deadline.
func dialWhenCreated(path string, watch int, deadline time.Time) net.Conn {
	buf := make([]byte, 4096)
	for {
		if c, err := net.Dial("unix", path); err == nil {
			return c
		}
		if time.Now().After(deadline) {
			return nil
		}
		if _, err := os.Lstat(path); err == nil {
			_ = syscall.Nanosleep(&syscall.Timespec{Nsec: 20_000}, nil)
			continue
		}
		// Block until something is created in the directory (or 100 ms, to re-check the deadline).
		var rset syscall.FdSet
		rset.Bits[watch/64] |= 1 << (uint(watch) % 64)
		tv := syscall.Timeval{Usec: 100_000}
		if n, _ := syscall.Select(watch+1, &rset, nil, nil, &tv); n > 0 {
			_, _ = syscall.Read(watch, buf)
		}
	}
}
