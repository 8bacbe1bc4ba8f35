package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// claimCount is the number of unique-key claims (emails, contact ids).
func (e *env) claimCount() int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_claims`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// auditChangesOf returns the field-level changes of the entity's audit
// entries of one event type, once the audit has reached pos.
func (e *env) auditChangesOf(entityType, id, eventType, pos string) []any {
	e.t.Helper()
	r := e.must(200, e.do("auditor", "GET", "/v1/audit?entity_type="+entityType+"&entity_id="+id+"&type="+eventType+"&min_position="+url.QueryEscape(pos), nil))
	items, _ := r.body["items"].([]any)
	if len(items) != 1 {
		e.t.Fatalf("%d audit entries of %s %s %s: %s", len(items), entityType, id, eventType, r.raw)
	}
	changes, _ := items[0].(map[string]any)["changes"].([]any)
	return changes
}

func TestChangeLeadDetails(t *testing.T) {
	e := newEnv(t)
	id := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "first@example.com"))).str("id")
	r := e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/details",
		`{"name":"Ada King","email":"Ada.King@Example.com","company":"Engines Ltd","region":"APAC"}`, "If-Match", `"1"`))
	if r.body["version"] != float64(2) || r.header.Get("ETag") != `"2"` {
		t.Fatalf("details change: %s", r.raw)
	}
	lead := e.must(200, e.do("sales", "GET", "/v1/leads/"+id, nil))
	if lead.str("name") != "Ada King" || lead.str("email") != "ada.king@example.com" || lead.str("region") != "APAC" || lead.str("company") != "Engines Ltd" {
		t.Fatalf("lead after the change: %s", lead.raw)
	}
	// The event carries only what changed, each with before and after.
	changes := e.auditChangesOf("lead", id, "lead.details_changed.v1", r.str("position"))
	want := []string{"name:Ada Lovelace->Ada King", "email:first@example.com->ada.king@example.com", "region:EMEA->APAC"}
	var got []string
	for _, c := range changes {
		m := c.(map[string]any)
		got = append(got, fmt.Sprintf("%v:%v->%v", m["field"], m["from"], m["to"]))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("audit changes %v, want %v", got, want)
	}
	// Personal values are stored encrypted, as at capture.
	var raw string
	if err := e.pool.QueryRow(t.Context(), `SELECT data::text FROM crm_events WHERE stream_id = $1 AND type = 'lead.details_changed.v1'`, "lead-"+id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "Ada King") || strings.Contains(raw, "ada.king@") || strings.Contains(raw, "first@") || !strings.Contains(raw, "APAC") {
		t.Fatalf("stored event holds personal values in clear: %s", raw)
	}
	// The email moved: the old address is free, the new one taken.
	other := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "first@example.com"))).str("id")
	dup := e.must(409, e.do("sales", "POST", "/v1/leads", leadWith("email", "ada.king@example.com")))
	if dup.str("code") != "duplicate_email" || dup.str("conflicting_id") != id {
		t.Fatalf("new email not reserved: %s", dup.raw)
	}
	// The same values again change nothing.
	same := e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/details", `{"name":"Ada King","region":"APAC"}`))
	if same.body["version"] != float64(2) || len(same.body["events"].([]any)) != 0 {
		t.Fatalf("an unchanged value was recorded: %s", same.raw)
	}
	// Refusals store nothing: stale If-Match, every invalid field, another
	// lead's email, a disqualified lead.
	before, claims := e.eventCount(), e.claimCount()
	stale := e.must(412, e.do("sales", "POST", "/v1/leads/"+id+"/details", `{"name":"X"}`, "If-Match", `"1"`))
	if stale.body["current_version"] != float64(2) {
		t.Fatalf("412 without the current version: %s", stale.raw)
	}
	bad := e.must(400, e.do("sales", "POST", "/v1/leads/"+id+"/details", `{"name":"","email":"nope","region":7,"owner":"x"}`))
	if got := strings.Join(fieldsOf(bad), ","); got != "email,name,owner,region" {
		t.Fatalf("invalid fields named %s: %s", got, bad.raw)
	}
	taken := e.must(409, e.do("sales", "POST", "/v1/leads/"+id+"/details", `{"email":"first@example.com"}`))
	if taken.str("code") != "duplicate_email" || taken.str("conflicting_id") != other {
		t.Fatalf("taking another lead's email: %s", taken.raw)
	}
	if e.eventCount() != before || e.claimCount() != claims {
		t.Fatal("refusals stored events or changed claims")
	}
	e.must(200, e.do("sales", "POST", "/v1/leads/"+other+"/disqualify", `{"reason":"duplicate"}`))
	before, claims = e.eventCount(), e.claimCount() // disqualifying releases its email
	e.must(409, e.do("sales", "POST", "/v1/leads/"+other+"/details", `{"name":"Z"}`))
	if e.eventCount() != before || e.claimCount() != claims {
		t.Fatalf("refusals stored events (%d -> %d) or changed claims (%d -> %d)", before, e.eventCount(), claims, e.claimCount())
	}
	// Erasing the person the lead now is erases the changed values too.
	e.must(200, e.do("admin", "POST", "/v1/privacy/erasure", `{"email":"ada.king@example.com"}`))
	if l := e.must(200, e.do("sales", "GET", "/v1/leads/"+id, nil)); l.str("name") != "[erased]" || l.str("email") != "[erased]" {
		t.Fatalf("after erasure: %s", l.raw)
	}
}

// TestEmailMoveRace: several leads move to one new address at once;
// exactly one gets it, the others are refused and store nothing.
func TestEmailMoveRace(t *testing.T) {
	e := newEnv(t)
	const n = 8
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", fmt.Sprintf("racer%d@example.com", i)))).str("id")
	}
	before := e.eventCount()
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.do("sales", "POST", "/v1/leads/"+ids[i]+"/details", `{"email":"prize@example.com"}`).status
		}()
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case 200:
			won++
		case 409:
		default:
			t.Fatalf("statuses %v", statuses)
		}
	}
	if won != 1 || e.eventCount() != before+1 {
		t.Fatalf("statuses %v, %d events: want one winner and one event", statuses, e.eventCount()-before)
	}
	var owners int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM crm_claims WHERE kind = 'email' AND owner_id = ANY($1)`, ids).Scan(&owners); err != nil {
		t.Fatal(err)
	}
	if owners != n {
		t.Fatalf("%d email claims for %d leads: a loser lost its old address or the winner kept two", owners, n)
	}
}

func TestChangeContactOpportunityAndTicketDetails(t *testing.T) {
	e := newEnv(t)
	acc := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Acme"}`)).str("id")
	c1 := e.must(201, e.do("sales", "POST", "/v1/accounts/"+acc+"/contacts", `{"name":"Bo","email":"bo@example.com"}`)).str("id")
	c2 := e.must(201, e.do("sales", "POST", "/v1/accounts/"+acc+"/contacts", `{"name":"Cy","email":"cy@example.com"}`)).str("id")
	r := e.must(200, e.do("sales", "POST", "/v1/contacts/"+c1+"/details", `{"name":"Bo Diddley","email":"bo.d@example.com","title":"CTO","role":"decision_maker"}`, "If-Match", `"3"`))
	if r.str("id") != c1 || r.str("account_id") != acc || r.body["version"] != float64(4) {
		t.Fatalf("contact change: %s", r.raw)
	}
	c := e.must(200, e.do("sales", "GET", "/v1/contacts/"+c1, nil))
	if c.str("name") != "Bo Diddley" || c.str("email") != "bo.d@example.com" || c.str("title") != "CTO" {
		t.Fatalf("contact after the change: %s", c.raw)
	}
	if got := len(e.auditChangesOf("contact", c1, "account.contact_details_changed.v1", r.str("position"))); got != 4 {
		t.Fatalf("%d audit changes, want 4", got)
	}
	e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "bo@example.com")))
	before, claims := e.eventCount(), e.claimCount()
	if d := e.must(409, e.do("sales", "POST", "/v1/contacts/"+c2+"/details", `{"email":"bo.d@example.com"}`)); d.str("code") != "duplicate_email" {
		t.Fatalf("another contact's email: %s", d.raw)
	}
	e.must(404, e.do("sales", "POST", "/v1/contacts/0190a0a0-0000-7000-8000-000000000000/details", `{"name":"x"}`))
	e.must(403, e.do("support", "POST", "/v1/contacts/"+c2+"/details", `{"name":"x"}`))

	opp := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+acc+`","name":"Deal","amount":"10.00","currency":"EUR","expected_close_date":"2027-01-31"}`)).str("id")
	if e.eventCount() != before+1 || e.claimCount() != claims {
		t.Fatal("refused contact changes stored something")
	}
	r = e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/details", `{"name":"Bigger deal"}`))
	if o := e.must(200, e.do("sales", "GET", "/v1/opportunities/"+opp, nil)); o.str("name") != "Bigger deal" {
		t.Fatalf("opportunity after the change: %s", o.raw)
	}
	e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/stage", `{"stage":"closed_lost","reason":"budget"}`))
	e.must(409, e.do("sales", "POST", "/v1/opportunities/"+opp+"/details", `{"name":"Late"}`))

	tk := e.must(201, e.do("support", "POST", "/v1/tickets", `{"subject":"Broken","priority":"low","channel":"web"}`)).str("id")
	r = e.must(200, e.do("support", "POST", "/v1/tickets/"+tk+"/details", `{"subject":"Broken login","channel":"email","description":"since Monday"}`))
	tv := e.must(200, e.do("support", "GET", "/v1/tickets/"+tk, nil))
	if tv.str("subject") != "Broken login" || tv.str("channel") != "email" || tv.str("description") != "since Monday" {
		t.Fatalf("ticket after the change: %s", tv.raw)
	}
	list := e.must(200, e.do("support", "GET", "/v1/tickets?min_position="+url.QueryEscape(r.str("position")), nil))
	if !strings.Contains(string(list.raw), "Broken login") {
		t.Fatalf("ticket list not updated: %s", list.raw)
	}
	before = e.eventCount()
	bad := e.must(400, e.do("support", "POST", "/v1/tickets/"+tk+"/details", `{"subject":"","channel":"fax"}`))
	if got := strings.Join(fieldsOf(bad), ","); got != "channel,subject" {
		t.Fatalf("invalid ticket fields named %s", got)
	}
	if e.eventCount() != before {
		t.Fatal("a refused ticket change stored events")
	}
}
