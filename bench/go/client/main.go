// bench-client: containerd's Go ttRPC client (the library Kata's Go runtime uses to talk to the
// agent) driving one server over ONE connection. Each subcommand prints one JSON object on
// stdout; bench/run.ts runs it alternately against our agent and against the anchors.
//
//	check     -addr A -inflight N -calls M [-warmup W]      Health.Check latency and throughput
//	lifecycle -addr A -spec F -n K                          Create → Start → Wait → Remove, K times
//	exec      -addr A -spec F -n K                          ExecProcess → WaitProcess of /bin/true, K times
//	stdout    -addr A -spec F -len L -bytes B               ReadStdout until EOF; B bytes expected
//	readonly  -addr A -len L -bytes B                       ReadStdout only (no container) until B bytes:
//	                                                        against bench-server, the protocol's ceiling
//	startup   -addr A -n K -- CMD ARGS...                   exec CMD until its Check answers, K times
//	command   -n K -- CMD ARGS...                           run CMD to completion K times ("{i}" in an
//	                                                        argument becomes the iteration number); wall
//	                                                        time and CPU (wait4 rusage: the whole tree) of each
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
	"sort"
	"strings"
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
