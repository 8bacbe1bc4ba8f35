package customreports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"crm/internal/customreports"
)

// normal re-encodes JSON with sorted keys and numbers as written.
func normal(t *testing.T, s string) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestShippedExamplesProduceTheExpectedRows(t *testing.T) {
	e := newEnv(t)
	ev := func(typ string, kv ...any) {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		e.add(typ, m)
	}
	// Stage velocity.
	ev("opportunity.opened.v1", "opportunity_id", "o1", "owner_id", "u1", "stage", "prospecting", "opened_at", "2026-01-01T00:00:00Z")
	ev("opportunity.opened.v1", "opportunity_id", "o2", "owner_id", "u1", "stage", "prospecting", "opened_at", "2026-01-02T00:00:00Z")
	ev("opportunity.opened.v1", "opportunity_id", "o3", "owner_id", "u2", "stage", "prospecting", "opened_at", "2026-01-01T00:00:00Z")
	ev("opportunity.stage_changed.v1", "opportunity_id", "o1", "from", "prospecting", "to", "qualification", "changed_at", "2026-01-03T00:00:00Z")
	ev("opportunity.stage_changed.v1", "opportunity_id", "o1", "from", "qualification", "to", "proposal", "changed_at", "2026-01-07T00:00:00Z")
	ev("opportunity.stage_changed.v1", "opportunity_id", "o2", "from", "prospecting", "to", "qualification", "changed_at", "2026-01-06T00:00:00Z")
	ev("opportunity.stage_changed.v1", "opportunity_id", "o3", "from", "prospecting", "to", "closed_lost", "changed_at", "2026-01-02T00:00:00Z")
	// Won revenue by campaign.
	ev("lead.captured.v1", "lead_id", "l1", "source", "webinar", "campaign", "q1")
	ev("lead.captured.v1", "lead_id", "l2", "source", "webinar", "campaign", "q1")
	ev("lead.captured.v1", "lead_id", "l3", "source", "referral")
	ev("opportunity.opened.v1", "opportunity_id", "a", "lead_id", "l1", "owner_id", "u3", "stage", "prospecting", "amount", "1000.00", "currency", "EUR", "opened_at", "2026-02-01T00:00:00Z")
	ev("opportunity.opened.v1", "opportunity_id", "b", "lead_id", "l2", "owner_id", "u3", "stage", "prospecting", "amount", "500.00", "currency", "EUR", "opened_at", "2026-02-01T00:00:00Z")
	ev("opportunity.opened.v1", "opportunity_id", "c", "lead_id", "l3", "owner_id", "u3", "stage", "prospecting", "amount", "200.00", "currency", "USD", "opened_at", "2026-02-01T00:00:00Z")
	ev("opportunity.opened.v1", "opportunity_id", "d", "owner_id", "u3", "stage", "prospecting", "amount", "9999.00", "currency", "EUR", "opened_at", "2026-02-01T00:00:00Z")
	ev("opportunity.amount_changed.v1", "opportunity_id", "a", "amount", "1200.00", "currency", "EUR")
	for _, id := range []string{"a", "b", "c", "d"} {
		ev("opportunity.stage_changed.v1", "opportunity_id", id, "from", "prospecting", "to", "closed_won", "changed_at", "2026-02-04T00:00:00Z")
	}
	ev("opportunity.reopened.v1", "opportunity_id", "b", "from_stage", "closed_won", "to_stage", "prospecting", "reopened_at", "2026-02-05T00:00:00Z")
	// Ticket SLA by month.
	ev("ticket.opened.v1", "ticket_id", "t1", "priority", "urgent", "opened_at", "2026-01-10T10:00:00Z")
	ev("ticket.opened.v1", "ticket_id", "t2", "priority", "urgent", "opened_at", "2026-01-20T10:00:00Z")
	ev("ticket.opened.v1", "ticket_id", "t3", "priority", "normal", "opened_at", "2026-01-31T23:30:00-02:00")
	ev("ticket.responded.v1", "ticket_id", "t1", "first", true, "within_sla", true)
	ev("ticket.responded.v1", "ticket_id", "t2", "first", true, "within_sla", false)
	ev("ticket.responded.v1", "ticket_id", "t2", "first", false, "within_sla", false)
	ev("ticket.resolved.v1", "ticket_id", "t1", "within_sla", false)
	ev("ticket.resolved.v1", "ticket_id", "t3", "within_sla", true)
	ev("ticket.resolved.v1", "ticket_id", "t3", "within_sla", true)

	want := map[string]string{
		"stage_velocity": `[
 {"owner_id":"u1","stage":"prospecting","stays":2,"total_days":"6.0000","avg_days":"3.00"},
 {"owner_id":"u1","stage":"qualification","stays":1,"total_days":"4.0000","avg_days":"4.00"},
 {"owner_id":"u2","stage":"prospecting","stays":1,"total_days":"1.0000","avg_days":"1.00"},
 {"owner_id":"u3","stage":"prospecting","stays":4,"total_days":"12.0000","avg_days":"3.00"}]`,
		"won_revenue_by_campaign": `[
 {"source":"referral","campaign":"","currency":"USD","deals":1,"revenue":"200.00"},
 {"source":"webinar","campaign":"q1","currency":"EUR","deals":1,"revenue":"1200.00"}]`,
		"ticket_sla_by_month": `[
 {"month":"2026-01","priority":"urgent","tickets":2,"responded":2,"responded_within_sla":1,"resolved":1,"resolved_within_sla":0,"response_compliance":"50.0","resolution_compliance":"0.0"},
 {"month":"2026-02","priority":"normal","tickets":1,"responded":0,"responded_within_sla":0,"resolved":1,"resolved_within_sla":1,"response_compliance":null,"resolution_compliance":"100.0"}]`,
	}
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) != 3 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := customreports.ParseYAML(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := e.svc.Create(context.Background(), d, "key:analyst"); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		st := e.wait(d.Name)
		if st.State != "running" {
			t.Fatalf("%s: %+v %+v", d.Name, st, st.Error)
		}
		if got := normal(t, e.rows(d.Name, "")); got != normal(t, want[d.Name]) {
			t.Errorf("%s rows\n got %s\nwant %s", d.Name, got, normal(t, want[d.Name]))
		}
	}
}

func TestParseYAMLRefusesUnknownFields(t *testing.T) {
	if _, err := customreports.ParseYAML([]byte("name: x\ntables: y\n")); err == nil {
		t.Fatal("unknown field accepted")
	}
	if _, err := customreports.ParseYAML(nil); err == nil {
		t.Fatal("empty file accepted")
	}
	d, err := customreports.ParseYAML([]byte("name: x\ntable: CREATE TABLE x (k text PRIMARY KEY)\nhandlers:\n  lead.captured.v1: INSERT INTO x VALUES (:stream_id)\nuntil: 2026-03-31T00:00:00Z\n"))
	if err != nil || d.Until == nil || d.Until.Format("2006-01-02") != "2026-03-31" || len(d.Handlers) != 1 {
		t.Fatalf("%+v %v", d, err)
	}
}
