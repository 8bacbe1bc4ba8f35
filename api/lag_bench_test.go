package api_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkReadModelLag measures how long after a command's response its
// effect is visible in the list and report read models (the projectors'
// checkpoints, committed with their rows, reach the command's position),
// at half the command rate measured first with the same concurrency.
//
//	go test -run '^$' -bench ReadModelLag -benchtime 1x ./api
func BenchmarkReadModelLag(b *testing.B) {
	const (
		workers = 8
		maxRun  = 4 * time.Second
		lagRun  = 8 * time.Second
	)
	e := newEnv(b)
	var seq atomic.Int64
	capture := func() string {
		n := seq.Add(1)
		r := e.do("sales", "POST", "/v1/leads", leadWith("email", fmt.Sprintf("lag%d@example.com", n)))
		if r.status != 201 {
			b.Fatalf("capture: %d %s", r.status, r.raw)
		}
		return r.str("position")
	}
	for i := 0; i < b.N; i++ {
		// Maximum rate: workers capture leads back to back.
		var done atomic.Int64
		stop := time.Now().Add(maxRun)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					capture()
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		maxRate := float64(done.Load()) / maxRun.Seconds()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := e.engine.WaitFor(ctx, capture(), "lists", "reports"); err != nil {
			b.Fatal(err)
		}
		cancel()

		// Half that rate, paced; each command's lag is measured from its
		// response.
		rate := maxRate / 2
		interval := time.Duration(float64(time.Second) / rate)
		var mu sync.Mutex
		var lags []time.Duration
		sem := make(chan struct{}, workers)
		var all sync.WaitGroup
		start := time.Now()
		for k := 0; time.Since(start) < lagRun; k++ {
			time.Sleep(time.Until(start.Add(time.Duration(k) * interval)))
			sem <- struct{}{}
			all.Add(1)
			go func() {
				defer all.Done()
				pos := capture()
				<-sem
				answered := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := e.engine.WaitFor(ctx, pos, "lists", "reports"); err != nil {
					b.Error(err)
					return
				}
				lag := time.Since(answered)
				mu.Lock()
				lags = append(lags, lag)
				mu.Unlock()
			}()
		}
		all.Wait()
		slices.Sort(lags)
		pct := func(p float64) float64 {
			return float64(lags[int(p*float64(len(lags)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(maxRate, "max_cmds/s")
		b.ReportMetric(float64(len(lags))/lagRun.Seconds(), "paced_cmds/s")
		b.ReportMetric(pct(0.5), "lag_p50_ms")
		b.ReportMetric(pct(0.99), "lag_p99_ms")
		b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, "lag_max_ms")
	}
}
