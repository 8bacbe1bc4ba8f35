package eventexport_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/bench"
	"crm/internal/eventexport"
	"crm/internal/pgmigrate"
	"crm/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// countingWriter counts what an export writes and discards it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// BenchmarkExport exports a log of CRM_BENCH_EVENTS events (default
// 200000: leads' captured, contacted, qualified and activity events)
// read from PostgreSQL in each format, and reports events/s and the
// output's bytes per event. Run with -benchtime 1x (3x for a median):
//
//	go test -run '^$' -bench Export -benchtime 3x ./internal/eventexport
func BenchmarkExport(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("CRM_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if err := pgmigrate.Migrate(ctx, pool, postgres.Migrations); err != nil {
		b.Fatal(err)
	}
	for done := 0; done < n/4; done += 25000 {
		if _, err := pool.Exec(ctx, bench.SeedLeadsSQL, min(25000, n/4-done), done); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE crm_events`); err != nil {
		b.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{})
	defer store.Close()
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		b.Fatal(err)
	}
	fields, err := eventexport.FieldsOf(codec.Types(), codec.Decode)
	if err != nil {
		b.Fatal(err)
	}
	// The log's own read rate, for reference: every batch read, nothing
	// written.
	b.Run("read_only", func(b *testing.B) {
		var took time.Duration
		var events int64
		for b.Loop() {
			start := time.Now()
			var after eventstore.Cursor
			for {
				batch, err := store.ReadAll(ctx, after, 5000)
				if err != nil {
					b.Fatal(err)
				}
				if len(batch) == 0 {
					break
				}
				events += int64(len(batch))
				after = batch[len(batch)-1].Cursor
			}
			took += time.Since(start)
		}
		b.ReportMetric(float64(events)/took.Seconds(), "events/s")
	})
	for _, format := range eventexport.Formats {
		b.Run(format, func(b *testing.B) {
			var took time.Duration
			var events, bytes int64
			for b.Loop() {
				w := &countingWriter{}
				start := time.Now()
				st, err := eventexport.Write(ctx, w, store, eventexport.Options{Format: format, Fields: fields})
				if err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
				events += st.Written
				bytes += w.n
			}
			if events < int64(n/4*4) {
				b.Fatalf("exported %d events, want %d per run", events, n/4*4)
			}
			b.ReportMetric(float64(events)/took.Seconds(), "events/s")
			b.ReportMetric(float64(bytes)/float64(events), "bytes/event")
		})
	}
}
