package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"crm/eventstore"
	"crm/eventstore/eventstoretest"
	"crm/eventstore/postgres"
	"crm/internal/bench"
)

const benchWriters = 8

// BenchmarkAppendVsRawInsert measures, in one run on one database, the
// event store's single-event appends and raw single-row INSERT transactions
// of the same payload, both at 8 concurrent writers. Compare the ops/s and
// p99 figures of the sub-benchmarks; their ratio is the append overhead.
// raw_insert_notify is the raw insert with a NOTIFY in its transaction, the
// cost the store avoids by notifying outside the append (coalesced, from a
// goroutine of its own).
func BenchmarkAppendVsRawInsert(b *testing.B) {
	pool := newPool(b)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, bench.BaselineTableSQL); err != nil {
		b.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{})
	defer store.Close()

	b.Run("raw_insert", func(b *testing.B) {
		runParallel(b, func(ctx context.Context, w int, i int64) error {
			_, err := pool.Exec(ctx, bench.BaselineInsertSQL, []byte(bench.Payload))
			return err
		})
	})
	b.Run("raw_insert_notify", func(b *testing.B) {
		runParallel(b, func(ctx context.Context, w int, i int64) error {
			_, err := pool.Exec(ctx, `WITH i AS (`+bench.BaselineInsertSQL+` RETURNING id) SELECT pg_notify('crm_bench', i.id::text) FROM i`,
				[]byte(bench.Payload))
			return err
		})
	})
	b.Run("append", func(b *testing.B) {
		run := time.Now().UnixNano()
		runParallel(b, func(ctx context.Context, w int, i int64) error {
			e := eventstoretest.Event("lead.captured.v1", string(bench.Payload))
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
func runParallel(b *testing.B, op bench.Op) {
	b.ResetTimer()
	s, err := bench.Load(context.Background(), benchWriters, int64(b.N), 0, op, nil)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(s.PerSecond(), "ops/s")
	b.ReportMetric(bench.Millis(s.Percentile(0.50)), "p50_ms")
	b.ReportMetric(bench.Millis(s.Percentile(0.99)), "p99_ms")
}
