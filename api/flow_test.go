package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestSalesAndServiceJourney walks an API consumer's whole journey over
// HTTP: lead to won deal to a ticket worked to satisfaction.
func TestSalesAndServiceJourney(t *testing.T) {
	e := newEnv(t)
	corr := "journey-1"
	lead := e.must(201, e.do("sales", "POST", "/v1/leads", leadBody, "X-Correlation-ID", corr))
	leadID := lead.str("id")
	if lead.header.Get("ETag") != `"1"` || lead.body["version"] != float64(1) || lead.str("position") == "" {
		t.Fatalf("capture response: %s etag %s", lead.raw, lead.header.Get("ETag"))
	}
	if lead.header.Get("X-Correlation-ID") != corr {
		t.Errorf("correlation id not echoed")
	}
	e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/assign", map[string]any{"owner_id": e.user("Rep One")}))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/contact-attempts", map[string]any{"channel": "call", "outcome": "reached"}))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/qualify", map[string]any{"note": "budget ok"}))
	conv := e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/convert", map[string]any{
		"opportunity": map[string]any{"name": "Engines 2027", "amount": "125000.00", "currency": "EUR", "expected_close_date": "2027-03-31"}}))
	accountID, contactID, oppID := conv.str("account_id"), conv.str("contact_id"), conv.str("opportunity_id")
	if accountID == "" || contactID == "" || oppID == "" || conv.body["version"] != float64(5) {
		t.Fatalf("convert response: %s", conv.raw)
	}
	if n := len(conv.body["events"].([]any)); n != 4 {
		t.Errorf("convert appended %d events, want 4 (lead converted, account opened, contact added, opportunity opened): %s", n, conv.raw)
	}
	// Every id is readable at once.
	l := e.must(200, e.do("sales", "GET", "/v1/leads/"+leadID, nil))
	if l.str("status") != "converted" || l.header.Get("ETag") != `"5"` {
		t.Errorf("lead after conversion: %s", l.raw)
	}
	a := e.must(200, e.do("sales", "GET", "/v1/accounts/"+accountID, nil))
	if a.str("name") != "Engines Ltd" {
		t.Errorf("account: %s", a.raw)
	}
	c := e.must(200, e.do("sales", "GET", "/v1/contacts/"+contactID, nil))
	if c.str("email") != "ada@example.com" || c.str("account_id") != accountID {
		t.Errorf("contact: %s", c.raw)
	}
	o := e.must(200, e.do("sales", "GET", "/v1/opportunities/"+oppID, nil))
	if o.str("stage") != "prospecting" || o.str("amount") != "125000.00" {
		t.Errorf("opportunity: %s", o.raw)
	}
	for _, stage := range []string{"qualification", "proposal", "negotiation", "closed_won"} {
		e.must(200, e.do("sales", "POST", "/v1/opportunities/"+oppID+"/stage", map[string]any{"stage": stage}))
	}
	o = e.must(200, e.do("sales", "GET", "/v1/opportunities/"+oppID, nil))
	if o.str("stage") != "closed_won" || o.body["version"] != float64(5) {
		t.Errorf("won opportunity: %s", o.raw)
	}

	tk := e.must(201, e.do("support", "POST", "/v1/tickets", map[string]any{"subject": "Cannot log in", "account_id": accountID,
		"contact_id": contactID, "priority": "high", "channel": "email"}))
	ticketID := tk.str("id")
	for _, step := range []struct{ path, body string }{
		{"assign", `{"assignee_id":"` + e.user("Agent Seven") + `"}`},
		{"responses", `{"body":"Looking into it"}`},
		{"resolve", `{"resolution":"Password reset"}`},
		{"close", ``},
		{"satisfaction", `{"score":5,"comment":"fast"}`},
	} {
		e.must(200, e.do("support", "POST", "/v1/tickets/"+ticketID+"/"+step.path, step.body))
	}
	v := e.must(200, e.do("support", "GET", "/v1/tickets/"+ticketID, nil))
	if v.str("status") != "closed" || v.body["satisfaction"] != float64(5) || v.str("first_response_at") == "" {
		t.Errorf("ticket: %s", v.raw)
	}

	// Every event says who, and why.
	h := e.must(200, e.do("sales", "GET", "/v1/leads/"+leadID+"/history", nil))
	items := h.body["items"].([]any)
	if len(items) != 5 {
		t.Fatalf("lead history has %d events", len(items))
	}
	first := items[0].(map[string]any)
	meta := first["metadata"].(map[string]any)
	if first["type"] != "lead.captured.v1" || meta["actor"] != e.actors["sales"] || meta["correlation_id"] != corr || meta["command_id"] == "" || meta["causation_id"] == "" {
		t.Errorf("first event: %v", first)
	}
	var missing int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM crm_events WHERE actor = '' OR command_id = '' OR correlation_id = '' OR causation_id = ''`).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Errorf("%d events lack actor, command, correlation or causation id", missing)
	}
}

func TestAsOfShowsThePast(t *testing.T) {
	e := newEnv(t)
	id := e.must(201, e.do("sales", "POST", "/v1/leads", leadBody)).str("id")
	var capturedAt string
	if err := e.pool.QueryRow(t.Context(), `SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM crm_events WHERE stream_id = $1`, "lead-"+id).Scan(&capturedAt); err != nil {
		t.Fatal(err)
	}
	e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/qualify", `{}`))
	now := e.must(200, e.do("sales", "GET", "/v1/leads/"+id, nil))
	then := e.must(200, e.do("sales", "GET", "/v1/leads/"+id+"?as_of="+capturedAt, nil))
	if now.str("status") != "qualified" || then.str("status") != "captured" || then.header.Get("ETag") != `"1"` {
		t.Errorf("now %s, as of capture %s", now.raw, then.raw)
	}
	e.must(400, e.do("sales", "GET", "/v1/leads/"+id+"?as_of=yesterday", nil))
	e.must(404, e.do("sales", "GET", "/v1/leads/"+id+"?as_of=2000-01-01T00:00:00Z", nil))
}

// TestRefusalsStoreNothing sends every kind of bad request and checks the
// status, the problem document and that the log did not grow.
func TestRefusalsStoreNothing(t *testing.T) {
	e := newEnv(t)
	leadID := e.must(201, e.do("sales", "POST", "/v1/leads", leadBody)).str("id")
	e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/qualify", `{}`))
	conv := e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/convert", `{"opportunity":{"name":"Deal","amount":"10.00","currency":"EUR","expected_close_date":"2027-01-31"}}`))
	oppID, accountID := conv.str("opportunity_id"), conv.str("account_id")
	e.must(200, e.do("sales", "POST", "/v1/opportunities/"+oppID+"/stage", `{"stage":"closed_lost","reason":"price"}`))
	openOpp := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+accountID+`","name":"n","amount":"5","currency":"USD","expected_close_date":"2027-06-30"}`)).str("id")
	other := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "other@example.com"))).str("id")
	ticketID := e.must(201, e.do("support", "POST", "/v1/tickets", `{"subject":"s","priority":"low","channel":"web"}`)).str("id")
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`

	tests := []struct {
		name, role, method, path, body string
		headers                        []string
		status                         int
		code, field                    string
	}{
		{"malformed JSON", "sales", "POST", "/v1/leads", `{"name":`, nil, 400, "", ""},
		{"unknown field", "sales", "POST", "/v1/leads", `{"name":"a","nickname":"b"}`, nil, 400, "", "nickname"},
		{"wrong type", "sales", "POST", "/v1/leads", `{"name":5}`, nil, 400, "", "name"},
		{"trailing garbage", "sales", "POST", "/v1/leads", `{"name":"a"} {}`, nil, 400, "", ""},
		{"array body", "sales", "POST", "/v1/leads", `[1]`, nil, 400, "", ""},
		{"missing required field", "sales", "POST", "/v1/leads", `{"name":"a","company":"c","email":"x@example.com"}`, nil, 400, "", "source"},
		{"bad email", "sales", "POST", "/v1/leads", `{"name":"a","company":"c","email":"nope","source":"web"}`, nil, 400, "", "email"},
		{"duplicate email", "sales", "POST", "/v1/leads", `{"name":"a","company":"c","email":"OTHER@example.com","source":"web"}`, nil, 409, "duplicate_email", ""},
		{"email held by a contact", "sales", "POST", "/v1/leads", `{"name":"a","company":"c","email":"ada@example.com","source":"web"}`, nil, 409, "duplicate_email", ""},
		{"body over 1 MiB", "sales", "POST", "/v1/leads", big, nil, 413, "", ""},
		{"wrong content type", "sales", "POST", "/v1/leads", `{}`, []string{"Content-Type", "text/plain"}, 415, "", ""},
		{"unknown lead", "sales", "POST", "/v1/leads/0190a0a0-0000-7000-8000-000000000000/qualify", `{}`, nil, 404, "", ""},
		{"not an id", "sales", "POST", "/v1/leads/nope/qualify", `{}`, nil, 404, "", ""},
		{"convert twice", "sales", "POST", "/v1/leads/" + leadID + "/convert", `{}`, nil, 409, "lead_already_converted", ""},
		{"convert unqualified", "sales", "POST", "/v1/leads/" + other + "/convert", `{}`, nil, 409, "lead_not_qualified", ""},
		{"convert into a non-id account", "sales", "POST", "/v1/leads/" + other + "/convert", `{"account_id":"acme"}`, nil, 400, "", "account_id"},
		{"lost without reason", "sales", "POST", "/v1/opportunities/" + openOpp + "/stage", `{"stage":"closed_lost"}`, nil, 400, "", "reason"},
		{"bad contact channel", "sales", "POST", "/v1/leads/" + other + "/contact-attempts", `{"channel":"fax","outcome":"reached"}`, nil, 400, "", "channel"},
		{"advance a closed deal", "sales", "POST", "/v1/opportunities/" + oppID + "/stage", `{"stage":"proposal"}`, nil, 409, "opportunity_closed", ""},
		{"unknown stage", "sales", "POST", "/v1/opportunities/" + openOpp + "/stage", `{"stage":"dreaming"}`, nil, 400, "", "stage"},
		{"float amount", "sales", "POST", "/v1/opportunities", `{"account_id":"` + accountID + `","name":"n","amount":12.5,"currency":"EUR","expected_close_date":"2027-01-01"}`, nil, 400, "", "amount"},
		{"bad currency", "sales", "POST", "/v1/opportunities", `{"account_id":"` + accountID + `","name":"n","amount":"12.50","currency":"XYZ","expected_close_date":"2027-01-01"}`, nil, 400, "", "currency"},
		{"bad date", "sales", "POST", "/v1/opportunities", `{"account_id":"` + accountID + `","name":"n","amount":"12.50","currency":"EUR","expected_close_date":"2027-02-30"}`, nil, 400, "", "expected_close_date"},
		{"unknown account", "sales", "POST", "/v1/opportunities", `{"account_id":"0190a0a0-0000-7000-8000-000000000000","name":"n","amount":"1","currency":"EUR","expected_close_date":"2027-01-01"}`, nil, 400, "", "account_id"},
		{"stale If-Match", "sales", "POST", "/v1/leads/" + other + "/qualify", `{}`, []string{"If-Match", `"7"`}, 412, "", ""},
		{"bad If-Match", "sales", "POST", "/v1/leads/" + other + "/qualify", `{}`, []string{"If-Match", `soon`}, 400, "", "If-Match"},
		{"satisfaction out of range", "support", "POST", "/v1/tickets/" + ticketID + "/satisfaction", `{"score":9}`, nil, 400, "", "score"},
		{"close an open ticket", "support", "POST", "/v1/tickets/" + ticketID + "/close", ``, nil, 409, "ticket_not_resolved", ""},
		{"bad priority", "support", "POST", "/v1/tickets", `{"subject":"s","priority":"asap","channel":"web"}`, nil, 400, "", "priority"},
		{"no key", "", "POST", "/v1/leads", `{}`, nil, 401, "", ""},
		{"support may not capture leads", "support", "POST", "/v1/leads", string(mustJSON(leadWith("email", "z@example.com"))), nil, 403, "forbidden", ""},
		{"analyst may not command", "analyst", "POST", "/v1/tickets", `{"subject":"s","priority":"low","channel":"web"}`, nil, 403, "forbidden", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.eventCount()
			var claims int
			_ = e.pool.QueryRow(t.Context(), `SELECT count(*) FROM crm_claims`).Scan(&claims)
			r := e.do(tt.role, tt.method, tt.path, tt.body, tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", r.status, tt.status, r.raw)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			if tt.code != "" && r.str("code") != tt.code {
				t.Errorf("code %q, want %q: %s", r.str("code"), tt.code, r.raw)
			}
			if tt.field != "" {
				errs, _ := r.body["errors"].([]any)
				named := false
				for _, fe := range errs {
					named = named || fe.(map[string]any)["field"] == tt.field
				}
				if !named {
					t.Errorf("errors %v, want field %s", r.body["errors"], tt.field)
				}
			}
			if after := e.eventCount(); after != before {
				t.Errorf("the refused request stored %d events", after-before)
			}
			var claimsAfter int
			_ = e.pool.QueryRow(t.Context(), `SELECT count(*) FROM crm_claims`).Scan(&claimsAfter)
			if claimsAfter != claims {
				t.Errorf("the refused request changed claims: %d -> %d", claims, claimsAfter)
			}
		})
	}
	dup := e.do("sales", "POST", "/v1/leads", leadWith("email", "other@example.com"))
	if dup.str("conflicting_id") != other {
		t.Errorf("duplicate email names %q, want %s", dup.str("conflicting_id"), other)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestEmailFreedByDisqualification(t *testing.T) {
	e := newEnv(t)
	id := e.must(201, e.do("sales", "POST", "/v1/leads", leadBody)).str("id")
	e.must(409, e.do("sales", "POST", "/v1/leads", leadBody))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/disqualify", `{"reason":"no budget"}`))
	e.must(201, e.do("sales", "POST", "/v1/leads", leadBody))
	e.must(409, e.do("sales", "POST", "/v1/leads/"+id+"/disqualify", `{"reason":"again"}`))
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	first := e.must(201, e.do("sales", "POST", "/v1/leads", leadBody, "Idempotency-Key", "k-1"))
	before := e.eventCount()
	again := e.must(201, e.do("sales", "POST", "/v1/leads", leadBody, "Idempotency-Key", "k-1"))
	if string(again.raw) != string(first.raw) || again.header.Get("ETag") != first.header.Get("ETag") {
		t.Errorf("replay differs:\n%s\n%s", first.raw, again.raw)
	}
	if e.eventCount() != before {
		t.Error("the replay appended events")
	}
	other := e.do("sales", "POST", "/v1/leads", leadWith("name", "Someone Else"), "Idempotency-Key", "k-1")
	if other.status != http.StatusUnprocessableEntity {
		t.Errorf("same key, other body: %d %s", other.status, other.raw)
	}
	// Keys are per API key: another principal's k-1 is its own.
	e.must(409, e.do("manager", "POST", "/v1/leads", leadBody, "Idempotency-Key", "k-1"))
	id := first.str("id")
	q1 := e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/qualify", `{}`, "Idempotency-Key", "q-1"))
	q2 := e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/qualify", `{}`, "Idempotency-Key", "q-1"))
	if string(q1.raw) != string(q2.raw) {
		t.Errorf("qualify replay differs")
	}
	if n := e.streamCount("lead-" + id); n != 2 {
		t.Errorf("lead has %d events, want 2", n)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	leadID := e.must(201, e.do("admin", "POST", "/v1/leads", leadBody)).str("id")
	accountID := e.must(201, e.do("admin", "POST", "/v1/accounts", `{"name":"Acme"}`)).str("id")
	ticketID := e.must(201, e.do("admin", "POST", "/v1/tickets", `{"subject":"s","priority":"low","channel":"web"}`)).str("id")
	routes := []struct {
		method, path, body string
		allowed            []string
	}{
		{"POST", "/v1/leads/" + leadID + "/activities", `{"kind":"note","subject":"s"}`, []string{"admin", "manager", "sales"}},
		{"GET", "/v1/leads/" + leadID, "", []string{"admin", "manager", "sales", "analyst", "auditor"}},
		{"POST", "/v1/accounts/" + accountID + "/tags", `{"add":["x"]}`, []string{"admin", "manager", "sales"}},
		{"GET", "/v1/accounts/" + accountID, "", []string{"admin", "manager", "sales", "support", "analyst", "auditor"}},
		{"POST", "/v1/tickets/" + ticketID + "/activities", `{"kind":"call","subject":"s"}`, []string{"admin", "manager", "support"}},
		{"GET", "/v1/tickets/" + ticketID, "", []string{"admin", "manager", "support", "analyst", "auditor"}},
		{"GET", "/v1/keys", "", []string{"admin"}},
	}
	for _, rt := range routes {
		for _, role := range []string{"admin", "manager", "sales", "support", "analyst", "auditor"} {
			t.Run(fmt.Sprintf("%s %s as %s", rt.method, rt.path, role), func(t *testing.T) {
				var body any
				if rt.body != "" {
					body = rt.body
				}
				r := e.do(role, rt.method, rt.path, body)
				want := http.StatusForbidden
				for _, a := range rt.allowed {
					if a == role {
						want = http.StatusOK
					}
				}
				if (want == http.StatusForbidden) != (r.status == http.StatusForbidden) || r.status >= 500 {
					t.Errorf("status %d, want %d: %s", r.status, want, r.raw)
				}
			})
		}
	}
}

// TestIdempotentReplaysOfCommandsWithTheirOwnFields: commands whose answer
// carries more than the common fields (conversion, a new contact, an
// erasure) replay byte for byte from the stored result, and append nothing.
func TestIdempotentReplaysOfCommandsWithTheirOwnFields(t *testing.T) {
	e := newEnv(t)
	id := e.must(201, e.do("sales", "POST", "/v1/leads", leadBody)).str("id")
	e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/qualify", `{}`))
	conv := `{"opportunity":{"name":"Deal","amount":"100.00","currency":"EUR","expected_close_date":"2027-03-31"}}`
	steps := []struct{ role, path, body, key string }{
		{"sales", "/v1/leads/" + id + "/convert", conv, "c-1"},
		{"admin", "/v1/privacy/erasure", `{"email":"ada@example.com"}`, "e-1"},
	}
	var accountID string
	for i, s := range steps {
		first := e.do(s.role, "POST", s.path, s.body, "Idempotency-Key", s.key)
		if first.status != 200 {
			t.Fatalf("%s: %d %s", s.path, first.status, first.raw)
		}
		if i == 0 {
			accountID = first.str("account_id")
			if accountID == "" || first.str("contact_id") == "" || first.str("opportunity_id") == "" {
				t.Fatalf("conversion answered %s", first.raw)
			}
		}
		before := e.eventCount()
		again := e.do(s.role, "POST", s.path, s.body, "Idempotency-Key", s.key)
		if again.status != first.status || string(again.raw) != string(first.raw) || again.header.Get("ETag") != first.header.Get("ETag") ||
			again.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s replay differs:\n%d %s\n%d %s", s.path, first.status, first.raw, again.status, again.raw)
		}
		if e.eventCount() != before {
			t.Errorf("%s: the replay appended events", s.path)
		}
	}
	add := `{"name":"Grace Hopper","email":"grace@example.com"}`
	first := e.must(201, e.do("sales", "POST", "/v1/accounts/"+accountID+"/contacts", add, "Idempotency-Key", "a-1"))
	again := e.must(201, e.do("sales", "POST", "/v1/accounts/"+accountID+"/contacts", add, "Idempotency-Key", "a-1"))
	if string(again.raw) != string(first.raw) || first.str("account_id") != accountID {
		t.Errorf("add contact replay differs:\n%s\n%s", first.raw, again.raw)
	}
}
