package api_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"crm/internal/bench"
)

// BenchmarkReadModelLag measures how long after a command's response its
// effect is visible in every read model (lists, reports, audit: the projectors
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
	capture := func(context.Context) (string, error) {
		n := seq.Add(1)
		r := e.do("sales", "POST", "/v1/leads", leadWith("email", fmt.Sprintf("lag%d@example.com", n)))
		if r.status != 201 {
			return "", fmt.Errorf("capture: %d %s", r.status, r.raw)
		}
		return r.str("position"), nil
	}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		// Maximum rate: workers capture leads back to back.
		peak, err := bench.Load(ctx, workers, 0, maxRun, func(ctx context.Context, _ int, _ int64) error {
			_, err := capture(ctx)
			return err
		}, nil)
		if err != nil {
			b.Fatal(err)
		}
		pos, err := capture(ctx)
		if err != nil {
			b.Fatal(err)
		}
		waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := e.engine.WaitFor(waitCtx, pos); err != nil {
			b.Fatal(err)
		}
		cancel()
		// Half that rate, paced.
		lag, err := bench.Lag(ctx, e.pool, nil, peak.PerSecond()/2, lagRun, workers, capture, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(peak.PerSecond(), "max_cmds/s")
		b.ReportMetric(lag.PerSecond(), "paced_cmds/s")
		b.ReportMetric(bench.Millis(lag.Percentile(0.5)), "lag_p50_ms")
		b.ReportMetric(bench.Millis(lag.Percentile(0.99)), "lag_p99_ms")
		b.ReportMetric(bench.Millis(lag.Percentile(1)), "lag_max_ms")
	}
}
