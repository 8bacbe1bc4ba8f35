package bench

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Op is one timed operation of worker w; i counts operations across all
// workers from 1.
type Op func(ctx context.Context, w int, i int64) error

// Sample is the outcome of a load run: how many operations finished, in
// how long, and each one's latency, sorted.
type Sample struct {
	Ops       int64
	Elapsed   time.Duration
	Latencies []time.Duration
}

// PerSecond is the throughput: operations per second of the run.
func (s Sample) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Ops) / s.Elapsed.Seconds()
}

// Percentile returns the latency at p (0..1) by the nearest-rank method on
// the sorted latencies, zero for an empty sample.
func (s Sample) Percentile(p float64) time.Duration {
	if len(s.Latencies) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(s.Latencies)))) - 1
	return s.Latencies[min(max(i, 0), len(s.Latencies)-1)]
}

// Millis is d in milliseconds.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Load runs op back to back on workers goroutines until n operations have
// started (n > 0) or d has passed (d > 0), whichever comes first, and
// returns the sample. The first error stops every worker and is returned.
// progress, when not nil, is called about every 100 ms with the fraction
// done and the operations finished.
func Load(ctx context.Context, workers int, n int64, d time.Duration, op Op, progress func(frac float64, done int64)) (Sample, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, finished atomic.Int64
	lat := make([][]time.Duration, workers)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if d > 0 && !time.Now().Before(deadline) {
					return
				}
				i := next.Add(1)
				if n > 0 && i > n {
					return
				}
				t0 := time.Now()
				if err := op(ctx, w, i); err != nil {
					cancel(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
				finished.Add(1)
			}
		}()
	}
	stopReporting := watchProgress(progress, func() (float64, int64) {
		done := finished.Load()
		frac := 0.0
		if d > 0 {
			frac = time.Since(start).Seconds() / d.Seconds()
		}
		if n > 0 {
			frac = max(frac, float64(done)/float64(n))
		}
		return min(frac, 1), done
	})
	wg.Wait()
	elapsed := time.Since(start)
	stopReporting()
	if err := context.Cause(ctx); err != nil {
		return Sample{}, err
	}
	s := Sample{Ops: finished.Load(), Elapsed: elapsed}
	for _, l := range lat {
		s.Latencies = append(s.Latencies, l...)
	}
	slices.Sort(s.Latencies)
	return s, nil
}

// watchProgress calls progress with state() every 100 ms until the
// returned stop function is called, and once more then.
func watchProgress(progress func(float64, int64), state func() (float64, int64)) (stop func()) {
	if progress == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				progress(state())
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		_, n := state()
		progress(1, n)
	}
}
