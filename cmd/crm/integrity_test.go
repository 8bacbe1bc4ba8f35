package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const testSealKey = "a seal key of at least thirty-two characters"

// TestServeSealsAndAuditVerify: crm serve seals the log in the background;
// crm audit verify passes on it, fails (exit 1) under another key and
// after an event is edited behind the append-only trigger, naming where.
func TestServeSealsAndAuditVerify(t *testing.T) {
	bin := crmBinary(t)
	db := openTestDB(t)
	p := startCRM(t, bin, nil, "serve", "--database-url", db.url, "--addr", "127.0.0.1:0", "--automations=false",
		"--bootstrap-admin-key", testAdminKey, "--seal-key", testSealKey, "--seal-interval", "100ms")
	api := newAPIClient(waitServing(t, p.stderr, p.exited))
	for i, email := range []string{"s1@example.com", "s2@example.com", "s3@example.com"} {
		id := api.mustDo(t, 201, "POST", "/v1/leads", map[string]any{"name": "Sealed", "company": "Acme",
			"email": email, "source": "web"}).commandID(t)
		if i == 1 {
			api.mustDo(t, 200, "POST", "/v1/leads/"+id+"/qualify", map[string]any{})
		}
	}
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var sealed, events int64
		if err := db.pool.QueryRow(ctx, `SELECT coalesce(max(event_count), 0), (SELECT count(*) FROM crm_events) FROM crm_seals`).
			Scan(&sealed, &events); err != nil {
			t.Fatal(err)
		}
		if sealed == events && events == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server sealed %d of %d events", sealed, events)
		}
		time.Sleep(50 * time.Millisecond)
	}

	type report struct {
		OK                 bool    `json:"ok"`
		EventsChecked      int     `json:"events_checked"`
		FirstBadPosition   *string `json:"first_bad_position"`
		Reason             *string `json:"reason"`
		SealsChecked       int     `json:"seals_checked"`
		SealsAuthenticated bool    `json:"seals_authenticated"`
	}
	verify := func(wantCode int, extra ...string) (report, string) {
		t.Helper()
		stdout, stderr, code := runCRM(t, bin, time.Minute, append([]string{"audit", "verify", "--database-url", db.url}, extra...)...)
		if code != wantCode {
			t.Fatalf("crm audit verify %v: exit %d, want %d\n%s%s", extra, code, wantCode, stdout, stderr)
		}
		var r report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("crm audit verify printed %q: %v", stdout, err)
		}
		return r, stderr
	}
	if r, _ := verify(0, "--seal-key", testSealKey); !r.OK || r.EventsChecked != 4 || r.SealsChecked == 0 || !r.SealsAuthenticated {
		t.Errorf("clean log: %+v", r)
	}
	if r, stderr := verify(0); !r.OK || r.SealsAuthenticated || !strings.Contains(stderr, "no seal key") {
		t.Errorf("without the key: %+v %s", r, stderr)
	}
	if r, _ := verify(1, "--seal-key", strings.Repeat("x", 40)); r.OK || r.Reason == nil || !strings.Contains(*r.Reason, "signature") {
		t.Errorf("under another key: %+v", r)
	}

	var at string
	if err := db.pool.QueryRow(ctx, `SELECT lpad(to_hex(transaction_id::text::bigint), 16, '0') || lpad(to_hex(position), 16, '0')
		FROM crm_events WHERE type = 'lead.qualified.v1'`).Scan(&at); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`ALTER TABLE crm_events DISABLE TRIGGER crm_events_no_update_delete`,
		`UPDATE crm_events SET actor = 'key:nobody' WHERE type = 'lead.qualified.v1'`,
		`ALTER TABLE crm_events ENABLE TRIGGER crm_events_no_update_delete`,
	} {
		if _, err := db.pool.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if r, _ := verify(1, "--seal-key", testSealKey); r.OK || r.FirstBadPosition == nil || *r.FirstBadPosition != at {
		t.Errorf("after editing the event at %s: %+v", at, r)
	}
}
