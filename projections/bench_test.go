package projections

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/bench"
	"crm/internal/pgmigrate"
	"crm/readmodels"
)

// BenchmarkRebuildVsInsertSelect measures, in one run on one database,
// rebuilding each projector from zero against a raw server-side
// INSERT ... SELECT of one comparable row per event (see bench.RawInsertSQL).
// Events come from CRM_BENCH_EVENTS (default 200000). Each iteration runs
// the baseline, then rebuilds every projector in turn; the metrics are the
// medians over the iterations: the baseline's rows/s, each projector's
// events/s and its ratio to the baseline, and the same for rebuilding all
// of them one after the other (events of the log per second of wall time
// for the whole set); narrow_insert_select_rows/s is reported for
// reference (see bench.NarrowInsertSQL). Run with -benchtime 1x (or 3x, 5x for
// a median).
func BenchmarkRebuildVsInsertSelect(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("CRM_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	pool := newTestPool(b)
	for _, set := range []pgmigrate.Set{postgres.Migrations, Migrations} {
		if err := pgmigrate.Migrate(ctx, pool, set); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, bench.SeedLeadsSQL, n/4, 0); err != nil {
		b.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ANALYZE crm_events; `+bench.RawSchemaSQL+`; SET LOCAL search_path = bench_raw`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, readmodels.ListsSchema)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{})
	defer store.Close()
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		b.Fatal(err)
	}
	eng := New(pool, store, codec, All(), Options{})
	total, err := store.Count(ctx)
	if err != nil {
		b.Fatal(err)
	}
	names := eng.Names()
	var raw, narrow, all []float64
	each := make([][]float64, len(names))
	for b.Loop() {
		if _, err := pool.Exec(ctx, `TRUNCATE bench_raw.leads; CHECKPOINT`); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		tag, err := pool.Exec(ctx, bench.RawInsertSQL)
		if err != nil {
			b.Fatal(err)
		}
		raw = append(raw, float64(tag.RowsAffected())/time.Since(start).Seconds())
		if _, err := pool.Exec(ctx, `TRUNCATE bench_raw.narrow; CHECKPOINT`); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if tag, err = pool.Exec(ctx, bench.NarrowInsertSQL); err != nil {
			b.Fatal(err)
		}
		narrow = append(narrow, float64(tag.RowsAffected())/time.Since(start).Seconds())
		var sum time.Duration // rebuilding every projector, one after the other
		for i, name := range names {
			if _, err := pool.Exec(ctx, `CHECKPOINT`); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := eng.Rebuild(ctx, name, nil); err != nil {
				b.Fatal(err)
			}
			took := time.Since(start)
			sum += took
			each[i] = append(each[i], float64(total)/took.Seconds())
		}
		all = append(all, float64(total)/sum.Seconds())
	}
	base := median(raw)
	b.ReportMetric(float64(total), "events")
	b.ReportMetric(base, "insert_select_rows/s")
	b.ReportMetric(median(narrow), "narrow_insert_select_rows/s")
	for i, name := range names {
		b.ReportMetric(median(each[i]), name+"_events/s")
		b.ReportMetric(median(each[i])/base, name+"_ratio")
	}
	b.ReportMetric(median(all), "rebuild_events/s")
	b.ReportMetric(median(all)/base, "rebuild_ratio")
}

// median returns the median of xs (the mean of the middle two for an even
// count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
