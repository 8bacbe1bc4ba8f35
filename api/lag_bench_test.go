package api_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crm/eventstore"
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
		if err := e.engine.WaitFor(ctx, capture()); err != nil {
			b.Fatal(err)
		}
		cancel()

		// Half that rate, paced. One observer polls the checkpoints every
		// millisecond (the waiting itself must not load the machine) and
		// takes each command's lag from its response to the moment every
		// checkpoint has passed its position.
		rate := maxRate / 2
		interval := time.Duration(float64(time.Second) / rate)
		type pending struct {
			pos      eventstore.Cursor
			answered time.Time
		}
		var mu sync.Mutex
		var waiting []pending
		var lags []time.Duration
		sem := make(chan struct{}, workers)
		var all sync.WaitGroup
		observed := make(chan struct{})
		stopObserving := make(chan struct{})
		go func() {
			defer close(observed)
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stopObserving:
					return
				case <-tick.C:
				}
				low, err := lowestCheckpoint(e)
				if err != nil {
					b.Error(err)
					return
				}
				now := time.Now()
				mu.Lock()
				kept := waiting[:0]
				for _, w := range waiting {
					if w.pos.Compare(low) <= 0 {
						lags = append(lags, now.Sub(w.answered))
					} else {
						kept = append(kept, w)
					}
				}
				waiting = kept
				mu.Unlock()
			}
		}()
		start := time.Now()
		for k := 0; time.Since(start) < lagRun; k++ {
			time.Sleep(time.Until(start.Add(time.Duration(k) * interval)))
			sem <- struct{}{}
			all.Add(1)
			go func() {
				defer all.Done()
				pos := capture()
				answered := time.Now()
				<-sem
				c, err := eventstore.ParseCursor(pos)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				waiting = append(waiting, pending{c, answered})
				mu.Unlock()
			}()
		}
		all.Wait()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			left := len(waiting)
			mu.Unlock()
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d commands never reached the read models", left)
			}
		}
		close(stopObserving)
		<-observed
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

// lowestCheckpoint is the checkpoint of the projector furthest behind.
func lowestCheckpoint(e *env) (eventstore.Cursor, error) {
	rows, err := e.pool.Query(context.Background(), `SELECT position FROM crm_projections`)
	if err != nil {
		return eventstore.Cursor{}, err
	}
	defer rows.Close()
	var low eventstore.Cursor
	first := true
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return low, err
		}
		c, err := eventstore.ParseCursor(p)
		if err != nil {
			return low, err
		}
		if first || c.Compare(low) < 0 {
			low, first = c, false
		}
	}
	return low, rows.Err()
}
