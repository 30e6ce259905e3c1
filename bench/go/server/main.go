// bench-server: the anchor for the Health benchmarks. containerd's Go ttRPC server (Debian's
// golang-github-containerd-ttrpc-dev) answering grpc.Health exactly like the Kata agent does:
// Check → SERVING, Version → grpc_version "0.0.1". Message types are generated from our
// protos/health.proto, so both servers decode and encode the same bytes.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/containerd/ttrpc"

	pb "kataproto/grpc"
)

type health struct{}

func (health) Check(ctx context.Context, req *pb.CheckRequest) (*pb.HealthCheckResponse, error) {
	return &pb.HealthCheckResponse{Status: pb.HealthCheckResponse_SERVING}, nil
}

func (health) Version(ctx context.Context, req *pb.CheckRequest) (*pb.VersionCheckResponse, error) {
	return &pb.VersionCheckResponse{GrpcVersion: "0.0.1", AgentVersion: "bench-go"}, nil
}

// The ceiling of a ReadStdout stream over ttRPC with one call in flight: an AgentService that
// only answers ReadStdout, with `len` zero bytes from a buffer it already has (no pipe, no copy
// of the data), for ever. bench-client's `readonly` mode stops after the bytes it wants.
func registerReadStdout(s *ttrpc.Server) {
	zeros := make([]byte, 4<<20)
	s.Register("grpc.AgentService", map[string]ttrpc.Method{
		"ReadStdout": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req pb.ReadStreamRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			n := int(req.Len)
			if n > len(zeros) {
				n = len(zeros)
			}
			return &pb.ReadStreamResponse{Data: zeros[:n]}, nil
		},
	})
}

func main() {
	addr := flag.String("addr", "", "unix:///path to listen on")
	flag.Parse()
	path := strings.TrimPrefix(*addr, "unix://")
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	s, err := ttrpc.NewServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	pb.RegisterHealthService(s, health{})
	registerReadStdout(s)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		s.Close()
		os.Remove(path)
		os.Exit(0)
	}()
	if err := s.Serve(context.Background(), l); err != nil && err != ttrpc.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
