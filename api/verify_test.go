package api_test

import (
	"context"
	"testing"
)

func TestAuditVerifyOverHTTP(t *testing.T) {
	e := newEnv(t)
	lead := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "v@example.com"))).str("id")
	e.must(200, e.do("sales", "POST", "/v1/leads/"+lead+"/qualify", `{}`))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+lead+"/convert", `{}`))

	for _, role := range []string{"auditor", "admin"} {
		r := e.must(200, e.do(role, "GET", "/v1/audit/verify", nil))
		if r.body["ok"] != true || int(r.body["events_checked"].(float64)) != e.eventCount() || r.body["first_bad_position"] != nil {
			t.Fatalf("%s: clean log: %s", role, r.raw)
		}
	}
	for _, role := range []string{"manager", "sales", "support", "analyst"} {
		e.must(403, e.do(role, "GET", "/v1/audit/verify", nil))
	}
	e.must(403, e.do("auditor", "POST", "/v1/leads", leadWith("email", "auditor@example.com")))

	// An owner disables the trigger and edits the lead's first event.
	ctx := context.Background()
	var pos string
	if err := e.pool.QueryRow(ctx, `SELECT lpad(to_hex(transaction_id::text::bigint), 16, '0') || lpad(to_hex(position), 16, '0')
		FROM crm_events WHERE stream_id LIKE '%' || $1 AND version = 1`, lead).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`ALTER TABLE crm_events DISABLE TRIGGER crm_events_no_update_delete`,
		`UPDATE crm_events SET data = jsonb_set(data, '{company}', '"Forged Ltd"') WHERE stream_id LIKE '%` + lead + `' AND version = 1`,
		`ALTER TABLE crm_events ENABLE TRIGGER crm_events_no_update_delete`,
	} {
		if _, err := e.pool.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	r := e.must(200, e.do("auditor", "GET", "/v1/audit/verify", nil))
	if r.body["ok"] != false || r.body["first_bad_position"] != pos || r.str("reason") == "" {
		t.Fatalf("tampered log: %s (want first_bad_position %s)", r.raw, pos)
	}
}
