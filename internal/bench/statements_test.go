package bench

import "testing"

// TestClassify: statements the engine sends fall into the group of the
// table or function they serve.
func TestClassify(t *testing.T) {
	for query, want := range map[string]string{
		"begin":  "transaction",
		"COMMIT": "transaction",
		"SELECT id, name, role, created_at FROM crm_api_keys WHERE key_hash = $1 AND revoked_at IS NULL":                                                         "auth",
		"COPY crm_request_log (at, key_id) FROM STDIN":                                                                                                           "request audit",
		"INSERT INTO crm_idempotency (scope, key, request_hash, result) VALUES ($1, $2, $3, $4) ON CONFLICT (scope, key) DO NOTHING":                             "idempotency",
		"INSERT INTO crm_claims (kind, key, owner_type, owner_id) VALUES ($1, $2, $3, $4)":                                                                       "claims",
		"WITH new AS (INSERT INTO crm_privacy_keys (subject_id) SELECT * FROM unnest($1::uuid[]))":                                                               "keys",
		"SELECT out_ord, out_version FROM crm_append($1, $2)":                                                                                                    "append",
		"SELECT event_id FROM crm_events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3":                                                       "stream read",
		"SELECT event_id FROM crm_events WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())": "log read",
		"UPDATE crm_projections SET position = $2 WHERE name = $1":                                                                                               "projectors",
		"INSERT INTO leads (id, status) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET status = excluded.status":                                                 "projectors",
		"INSERT INTO crm_deadlines (id, kind, due_at, payload) VALUES ($1, $2, $3, $4)":                                                                          "automations",
		"SELECT id, events FROM crm_webhooks WHERE deleted_at IS NULL":                                                                                           "webhooks",
		"SELECT pg_notify($1, $2)":      "notify",
		"SELECT set_config($2, $1, $3)": "other",
	} {
		if got := classify(query); got != want {
			t.Errorf("classify(%q) = %q, want %q", query, got, want)
		}
	}
}

// TestDelta: counters between two snapshots, per operation, by group,
// the most frequent statement first.
func TestDelta(t *testing.T) {
	before := statementSnapshot{1: {query: "SELECT 1 FROM crm_api_keys", calls: 10, execMs: 1}}
	after := statementSnapshot{
		1: {query: "SELECT 1 FROM crm_api_keys", calls: 30, execMs: 3},
		2: {query: "SELECT * FROM crm_append($1)", calls: 20, execMs: 10},
		3: {query: "begin", calls: 40, execMs: 0},
	}
	f := delta(before, after, 20, "mix", 2)
	if f.Statements != 4 || f.ExecMs != 0.6 {
		t.Fatalf("delta: %v statements and %v ms per command, want 4 and 0.6", f.Statements, f.ExecMs)
	}
	if len(f.Groups) != 3 || f.Groups[0].Group != "transaction" || f.Groups[0].Statements != 2 || f.Groups[1].Group != "auth" {
		t.Fatalf("groups %+v, want transaction (2), auth (1), append (1) in report order", f.Groups)
	}
	if len(f.Top) != 2 || f.Top[0].Query != "begin" {
		t.Fatalf("top %+v, want the two most frequent, begin first", f.Top)
	}
}
