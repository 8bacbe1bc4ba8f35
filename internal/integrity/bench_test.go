package integrity_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore/postgres"
	"crm/internal/integrity"
	"crm/internal/pgmigrate"
	"crm/internal/testdb"
)

// benchSeedSQL appends $1 streams of four events each straight into the
// log (the insert trigger chains them).
const benchSeedSQL = `
INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data, actor, command_id, correlation_id, causation_id, recorded_at)
SELECT gen_random_uuid(), 'lead-' || l.id, v.version, 'lead.noted.v1', 1,
       jsonb_build_object('lead_id', l.id, 'n', l.n, 'note', 'Follow up with Company ' || (l.n % 997)),
       'key:bench', 'cmd-' || l.n, 'corr-' || l.n, 'cmd-' || l.n,
       timestamptz '2026-01-01' + (l.n * 4 + v.version) * interval '1 second'
FROM (SELECT n, gen_random_uuid() AS id FROM generate_series(1, $1) AS n) AS l
CROSS JOIN generate_series(1, 4) AS v(version)
ORDER BY l.n, v.version`

// BenchmarkVerify measures Verify over CRM_BENCH_EVENTS events (default
// 200000), sealed every 100,000 events, and reports events/s:
//
//	CRM_BENCH_EVENTS=1000000 go test -run '^$' -bench Verify -benchtime 1x ./integrity
func BenchmarkVerify(b *testing.B) {
	events := 200000
	if v, err := strconv.Atoi(os.Getenv("CRM_BENCH_EVENTS")); err == nil && v > 0 {
		events = v
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
	checker := integrity.New(pool, testKey)
	const chunk = 100000
	for done := 0; done < events; done += chunk {
		n := min(chunk, events-done)
		if _, err := pool.Exec(ctx, benchSeedSQL, n/4); err != nil {
			b.Fatal(err)
		}
		if _, _, err := checker.Seal(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var took time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rep, err := checker.Verify(ctx)
		took = time.Since(start)
		if err != nil || !rep.OK {
			b.Fatalf("%+v %v", rep, err)
		}
		b.ReportMetric(float64(rep.EventsChecked), "events")
		b.ReportMetric(float64(rep.SealsChecked), "seals")
	}
	b.ReportMetric(float64(events)/took.Seconds(), "events/s")
	b.ReportMetric(took.Seconds(), "verify_s")
}
