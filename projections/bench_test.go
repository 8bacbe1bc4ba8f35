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
	"crm/pgmigrate"
	"crm/readmodels"
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

// rawInsertSQL is the baseline of BenchmarkRebuildVsInsertSelect: one
// row per event, shaped and filled like the rows of the lists projector's
// leads table (every text column set, values extracted from the event's
// data where it has them), into a table made by the lists read model's DDL
// (so with the same primary key and secondary indexes), in one server-side
// statement.
const rawInsertSQL = `INSERT INTO bench_raw.leads (id, status, name, company, email, phone, source, campaign, region,
  industry, company_size, owner_id, contact_attempts, disqualification_reason, account_id, contact_id, opportunity_id,
  captured_at, converted_at)
SELECT event_id::text, type, coalesce(data->>'name', 'Lead ' || position), coalesce(data->>'company', 'Company ' || position % 997),
       coalesce(data->>'email', 'lead' || position || '@example.com'), '',
       coalesce(data->>'source', (ARRAY['webinar','referral','ads','event'])[1 + position % 4]),
       coalesce(data->>'campaign', 'c' || position % 13), coalesce(data->>'region', (ARRAY['EMEA','AMER','APAC'])[1 + position % 3]),
       coalesce(data->>'industry', 'manufacturing'), coalesce(data->>'company_size', '51-200'),
       coalesce(data->>'owner_id', 'rep-' || position % 20), version, '', '', '', '', recorded_at, NULL
FROM crm_events`

// narrowInsertSQL is a reference point only: narrow rows into a table with
// a primary key alone (the baseline this benchmark once used).
const narrowInsertSQL = `INSERT INTO bench_raw.narrow SELECT event_id, stream_id, type, actor, recorded_at,
data->>'name', data->>'email', data FROM crm_events`

// BenchmarkRebuildVsInsertSelect measures, in one run on one database,
// rebuilding each projector from zero against a raw server-side
// INSERT ... SELECT of one comparable row per event (see rawInsertSQL).
// Events come from CRM_BENCH_EVENTS (default 200000). Each iteration runs
// the baseline, then rebuilds every projector in turn; the metrics are the
// medians over the iterations: the baseline's rows/s, each projector's
// events/s and its ratio to the baseline, and the same for rebuilding all
// of them one after the other (events of the log per second of wall time
// for the whole set); narrow_insert_select_rows/s is reported for
// reference (see narrowInsertSQL). Run with -benchtime 1x (or 3x, 5x for
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
	if _, err := pool.Exec(ctx, seedSQL, n/4); err != nil {
		b.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ANALYZE crm_events; CREATE SCHEMA bench_raw; SET LOCAL search_path = bench_raw;
CREATE TABLE narrow (event_id uuid PRIMARY KEY, stream_id text, type text, actor text, recorded_at timestamptz,
  name text, email text, data jsonb)`); err != nil {
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
		tag, err := pool.Exec(ctx, rawInsertSQL)
		if err != nil {
			b.Fatal(err)
		}
		raw = append(raw, float64(tag.RowsAffected())/time.Since(start).Seconds())
		if _, err := pool.Exec(ctx, `TRUNCATE bench_raw.narrow; CHECKPOINT`); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if tag, err = pool.Exec(ctx, narrowInsertSQL); err != nil {
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
