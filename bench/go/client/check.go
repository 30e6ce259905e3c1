// Health.Check latency and throughput with N calls in flight on one connection.
package main

import (
	"fmt"
	"sync"
	"time"

	pb "kataproto/grpc"
)

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
