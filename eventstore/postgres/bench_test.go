package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"crm/eventstore"
	"crm/eventstore/eventstoretest"
	"crm/eventstore/postgres"
)

// benchPayload is the size of a typical event body (a captured lead).
var benchPayload = json.RawMessage(`{"name":"Ada Lovelace","company":"Analytical Engines Ltd","email":"ada@example.com",` +
	`"phone":"+44 20 7946 0958","source":"webinar","campaign":"2026-q1-launch","region":"EMEA",` +
	`"industry":"manufacturing","company_size":"51-200","owner_id":"018f3e4a-7b8c-7d9e-8f00-112233445566"}`)

const benchWriters = 8

// BenchmarkAppendVsRawInsert measures, in one run on one database, the
// event store's single-event appends and raw single-row INSERT transactions
// of the same payload, both at 8 concurrent writers. Compare the ops/s and
// p99 figures of the two sub-benchmarks; their ratio is the append
// overhead.
func BenchmarkAppendVsRawInsert(b *testing.B) {
	pool := newPool(b)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{})
	defer store.Close()

	b.Run("raw_insert", func(b *testing.B) {
		runParallel(b, func(ctx context.Context, w, i int) error {
			_, err := pool.Exec(ctx, `INSERT INTO bench_raw (payload) VALUES ($1)`, []byte(benchPayload))
			return err
		})
	})
	b.Run("append", func(b *testing.B) {
		run := time.Now().UnixNano()
		runParallel(b, func(ctx context.Context, w, i int) error {
			e := eventstoretest.Event("lead.captured.v1", string(benchPayload))
			_, err := store.Append(ctx, eventstore.StreamEvents{
				StreamID: fmt.Sprintf("lead-%d-%d-%d", run, w, i), Expected: eventstore.NoStream,
				Events: []eventstore.EventData{e},
			})
			return err
		})
	})
}

// runParallel runs op b.N times across benchWriters goroutines and reports
// throughput and latency percentiles.
func runParallel(b *testing.B, op func(ctx context.Context, w, i int) error) {
	ctx := context.Background()
	var next atomic.Int64
	lat := make([][]time.Duration, benchWriters)
	errs := make(chan error, benchWriters)
	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{})
	for w := range benchWriters {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				i := int(next.Add(1))
				if i > b.N {
					return
				}
				t0 := time.Now()
				if err := op(ctx, w, i); err != nil {
					errs <- err
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	for range benchWriters {
		<-done
	}
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
}
