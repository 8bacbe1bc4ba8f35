package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Issue sends one command and returns the log position of its response
// (a cursor: 32 hex digits that sort like the log).
type Issue func(ctx context.Context) (position string, err error)

// Lag issues commands at rate per second for d (at most inFlight at a
// time) and measures each one's lag: the time from its response until
// every projector in projectors (all of them when empty) has committed its
// checkpoint, and so its read-model rows, at or past the command's
// position. One observer polls the checkpoints every 2 ms, so the waiting
// itself does not load the machine. The sample's latencies are the lags;
// Ops counts the commands, Elapsed is the paced run. It waits at most 30 s
// after the last command for the read models to catch up.
func Lag(ctx context.Context, pool *pgxpool.Pool, projectors []string, rate float64, d time.Duration, inFlight int,
	issue Issue, progress func(frac float64, done int64)) (Sample, error) {
	if rate <= 0 || inFlight <= 0 {
		return Sample{}, fmt.Errorf("lag: rate %.1f/s and %d in flight: both must be positive", rate, inFlight)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type pending struct {
		pos      string
		answered time.Time
	}
	var (
		mu      sync.Mutex
		waiting []pending
		lags    []time.Duration
		issued  int64
	)
	observed := make(chan struct{})
	stopObserving := make(chan struct{})
	go func() {
		defer close(observed)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopObserving:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			low, err := lowestCheckpoint(ctx, pool, projectors)
			if err != nil {
				cancel(err)
				return
			}
			now := time.Now()
			mu.Lock()
			kept := waiting[:0]
			for _, w := range waiting {
				if w.pos <= low {
					lags = append(lags, now.Sub(w.answered))
				} else {
					kept = append(kept, w)
				}
			}
			waiting = kept
			mu.Unlock()
		}
	}()
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, inFlight)
	var all sync.WaitGroup
	start := time.Now()
	for k := 0; time.Since(start) < d && ctx.Err() == nil; k++ {
		time.Sleep(time.Until(start.Add(time.Duration(k) * interval)))
		if progress != nil && k%10 == 0 {
			mu.Lock()
			n := len(lags)
			mu.Unlock()
			progress(min(time.Since(start).Seconds()/d.Seconds(), 1), int64(n))
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		all.Add(1)
		go func() {
			defer all.Done()
			pos, err := issue(ctx)
			answered := time.Now()
			<-sem
			if err != nil {
				cancel(err)
				return
			}
			mu.Lock()
			waiting = append(waiting, pending{pos, answered})
			issued++
			mu.Unlock()
		}()
	}
	all.Wait()
	elapsed := time.Since(start)
	for deadline := time.Now().Add(30 * time.Second); ctx.Err() == nil; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		left := len(waiting)
		mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			cancel(fmt.Errorf("lag: %d commands not in the read models 30 s after the last one", left))
		}
	}
	close(stopObserving)
	<-observed
	if progress != nil {
		progress(1, int64(len(lags)))
	}
	if err := context.Cause(ctx); err != nil {
		return Sample{}, err
	}
	slices.Sort(lags)
	return Sample{Ops: issued, Elapsed: elapsed, Latencies: lags}, nil
}

// lowestCheckpoint is the checkpoint of the projector furthest behind
// among names (all projectors when names is empty). Checkpoints are
// cursors, which sort like the log as strings.
func lowestCheckpoint(ctx context.Context, pool *pgxpool.Pool, names []string) (string, error) {
	var low *string
	var n int
	err := pool.QueryRow(ctx, `SELECT min(position COLLATE "C"), count(*) FROM crm_projections
WHERE coalesce(cardinality($1::text[]), 0) = 0 OR name = ANY($1)`, names).Scan(&low, &n)
	if err != nil {
		return "", fmt.Errorf("read checkpoints: %w", err)
	}
	if n == 0 || (len(names) > 0 && n < len(names)) {
		return "", errors.New("read checkpoints: a projector has no checkpoint row")
	}
	return *low, nil
}
