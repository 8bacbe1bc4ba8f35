package bench

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SeedLeadsSQL appends $1 leads' histories straight into the log (four
// events per lead: captured, contacted, qualified, an activity), numbered
// from $2 + 1 so that successive calls make distinct leads, as one
// statement. Run it with the event store's migrations applied.
const SeedLeadsSQL = `
INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data, actor, command_id, correlation_id, causation_id, recorded_at)
SELECT gen_random_uuid(), 'lead-' || l.id, v.version, v.type, 1, v.data, 'key:bench', 'cmd-' || l.n, 'corr-' || l.n, 'cmd-' || l.n,
       timestamptz '2026-01-01' + (l.n * 4 + v.version) * interval '1 second'
FROM (SELECT n, gen_random_uuid() AS id FROM generate_series($2::bigint + 1, $2::bigint + $1::bigint) AS n) AS l
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

// RawSchemaSQL creates the schema bench_raw with the table of
// NarrowInsertSQL; create the lists read model's tables in it
// (readmodels.ListsSchema with search_path bench_raw) for RawInsertSQL.
const RawSchemaSQL = `CREATE SCHEMA bench_raw;
CREATE TABLE bench_raw.narrow (event_id uuid PRIMARY KEY, stream_id text, type text, actor text, recorded_at timestamptz,
  name text, email text, data jsonb)`

// RawInsertSQL is the baseline of a rebuild: one row per event of the
// log, shaped and filled like the rows of the lists projector's leads
// table (every text column set, values extracted from the event's data
// where it has them), into a table made by the lists read model's DDL (so
// with the same primary key and secondary indexes), in one server-side
// statement.
const RawInsertSQL = `INSERT INTO bench_raw.leads (id, status, name, company, email, phone, source, campaign, region,
  industry, company_size, owner_id, contact_attempts, disqualification_reason, account_id, contact_id, opportunity_id,
  captured_at, converted_at)
SELECT event_id::text, type, coalesce(data->>'name', 'Lead ' || position), coalesce(data->>'company', 'Company ' || position % 997),
       coalesce(data->>'email', 'lead' || position || '@example.com'), '',
       coalesce(data->>'source', (ARRAY['webinar','referral','ads','event'])[1 + position % 4]),
       coalesce(data->>'campaign', 'c' || position % 13), coalesce(data->>'region', (ARRAY['EMEA','AMER','APAC'])[1 + position % 3]),
       coalesce(data->>'industry', 'manufacturing'), coalesce(data->>'company_size', '51-200'),
       coalesce(data->>'owner_id', 'rep-' || position % 20), version, '', '', '', '', recorded_at, NULL
FROM crm_events`

// NarrowInsertSQL is a reference point only: narrow rows into a table with
// a primary key alone.
const NarrowInsertSQL = `INSERT INTO bench_raw.narrow SELECT event_id, stream_id, type, actor, recorded_at,
data->>'name', data->>'email', data FROM crm_events`

// longStreamSQL appends $2 contact attempts to the lead stream $1 (after
// its current version; $3 is the lead's id) and moves the stream's
// version, as that many commands would.
const longStreamSQL = `
WITH cur AS (SELECT version FROM crm_streams WHERE stream_id = $1),
ins AS (
	INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data, actor, command_id, correlation_id, causation_id, recorded_at)
	SELECT gen_random_uuid(), $1, cur.version + n, 'lead.contact_attempted.v1', 1,
	       jsonb_build_object('lead_id', $3::text, 'channel', 'call', 'outcome', 'no_answer',
	                          'attempted_at', now(), 'attempt_number', n),
	       'key:bench', 'cmd-' || n, 'corr-' || n, 'cmd-' || n, now()
	FROM cur, generate_series(1, $2::int) AS n ORDER BY n
	RETURNING 1)
UPDATE crm_streams SET version = version + (SELECT count(*) FROM ins) WHERE stream_id = $1`

// GrowStream appends n contact attempts to the stream of lead leadID
// directly in SQL, as n commands would, holding the stream's append lock
// so that commands (an automation scoring the lead, say) appending at the
// same time wait instead of colliding. It fails when the stream does not
// exist.
func GrowStream(ctx context.Context, pool *pgxpool.Pool, leadID string, n int) error {
	stream := "lead-" + leadID
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// The lock crm_append takes for the stream, before any write.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, stream); err != nil {
			return fmt.Errorf("grow %s: %w", stream, err)
		}
		tag, err := tx.Exec(ctx, longStreamSQL, stream, n, leadID)
		if err != nil {
			return fmt.Errorf("grow %s: %w", stream, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("grow %s: no such stream", stream)
		}
		return nil
	})
}

// Payload is the data of a typical event (a captured lead): the body of
// the baseline's single-row inserts.
var Payload = json.RawMessage(`{"name":"Ada Lovelace","company":"Analytical Engines Ltd","email":"ada@example.com",` +
	`"phone":"+44 20 7946 0958","source":"webinar","campaign":"2026-q1-launch","region":"EMEA",` +
	`"industry":"manufacturing","company_size":"51-200","owner_id":"018f3e4a-7b8c-7d9e-8f00-112233445566"}`)

// BaselineTableSQL creates the table of BaselineInsertSQL.
const BaselineTableSQL = `CREATE TABLE bench_raw_insert (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL)`

// BaselineInsertSQL is one raw single-row insert of $1 (Payload).
const BaselineInsertSQL = `INSERT INTO bench_raw_insert (payload) VALUES ($1)`
