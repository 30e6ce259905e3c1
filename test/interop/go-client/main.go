// interop-client: containerd's Go ttRPC client (the library the Kata Go runtime uses) driving our
// agent. Each scenario prints one JSON line {"scenario":..., "ok":bool, "code":"...", ...};
// the Bun test asserts on those lines. Built offline from Debian's Go packages (GOPATH mode).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pb "kataproto/grpc"
	"net"
	"os"
	"strings"
	"sync"
	"time"
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
