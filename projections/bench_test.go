package projections

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/pgmigrate"
)

// seedSQL appends $1 leads' histories straight into the log (four events
// per lead: captured, contacted, qualified, an activity), as one
// transaction.
const seedSQL = `
INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data, actor, command_id, correlation_id, causation_id, recorded_at)
SELECT gen_random_uuid(), 'lead-' || l.id, v.version, v.type, 1, v.data, 'key:bench', 'cmd-' || l.n, 'corr-' || l.n, 'cmd-' || l.n,
       timestamptz '2026-01-01' + (l.n * 4 + v.version) * interval '1 second'
FROM (SELECT n, gen_random_uuid() AS id FROM generate_series(1, $1) AS n) AS l
CROSS JOIN LATERAL (VALUES
  (1, 'lead.captured.v1', jsonb_build_object('lead_id', l.id, 'name', 'Lead ' || l.n, 'company', 'Company ' || (l.n % 997),
      'email', 'lead' || l.n || '@example.com', 'source', (ARRAY['webinar','referral','ads','event'])[1 + l.n % 4],
      'campaign', 'c' || (l.n % 13), 'region', (ARRAY['EMEA','AMER','APAC'])[1 + l.n % 3], 'industry', 'manufacturing',
      'company_size', '51-200', 'owner_id', 'rep-' || (l.n % 20), 'captured_at', timestamptz '2026-01-01' + l.n * 4 * interval '1 second')),
  (2, 'lead.contact_attempted.v1', jsonb_build_object('lead_id', l.id, 'channel', 'call', 'outcome', 'reached',
      'attempted_at', timestamptz '2026-01-01' + (l.n * 4 + 2) * interval '1 second', 'attempt_number', 1)),
  (3, 'lead.qualified.v1', jsonb_build_object('lead_id', l.id, 'previous_status', 'contacted')),
  (4, 'activity.logged.v1', jsonb_build_object('activity_id', gen_random_uuid(), 'entity_type', 'lead', 'entity_id', l.id,
      'kind', 'note', 'subject', 'Follow up', 'done', false, 'logged_at', timestamptz '2026-01-01' + (l.n * 4 + 4) * interval '1 second'))
) AS v(version, type, data)
ORDER BY l.n, v.version`

// BenchmarkRebuildVsInsertSelect measures, in one run on one database,
// rebuilding every projector from zero against a raw server-side
// INSERT ... SELECT of one comparable row per event. Events come from
// CRM_BENCH_EVENTS (default 200000). Run with -benchtime 1x.
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
	if _, err := pool.Exec(ctx, seedSQL, n/4); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE crm_events; CREATE TABLE raw_rows (event_id uuid PRIMARY KEY, stream_id text, type text,
actor text, recorded_at timestamptz, name text, email text, data jsonb)`); err != nil {
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
	var rawTime, rebuildTime time.Duration
	for b.Loop() {
		if _, err := pool.Exec(ctx, `TRUNCATE raw_rows`); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := pool.Exec(ctx, `INSERT INTO raw_rows SELECT event_id, stream_id, type, actor, recorded_at,
data->>'name', data->>'email', data FROM crm_events`); err != nil {
			b.Fatal(err)
		}
		rawTime += time.Since(start)
		start = time.Now()
		for _, name := range eng.Names() {
			if err := eng.Rebuild(ctx, name, nil); err != nil {
				b.Fatal(err)
			}
		}
		rebuildTime += time.Since(start)
	}
	raw := float64(total) * float64(b.N) / rawTime.Seconds()
	// Every projector reads the whole log: the rate is events per second
	// of wall time for rebuilding all of them.
	rebuild := float64(total) * float64(b.N) / rebuildTime.Seconds()
	b.ReportMetric(float64(total), "events")
	b.ReportMetric(raw, "insert_select_rows/s")
	b.ReportMetric(rebuild, "rebuild_events/s")
	b.ReportMetric(rebuild/raw, "rebuild_ratio")
}
