package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// scenario drives a small business through the API and returns the
// position of its last command.
func scenario(t *testing.T, e *env) string {
	t.Helper()
	var last string
	keep := func(r response) response { last = r.str("position"); return r }
	l1 := keep(e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "a1@example.com", "source", "webinar")))).str("id")
	l2 := keep(e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "a2@example.com", "source", "referral", "company", "Zeta Corp")))).str("id")
	keep(e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "a3@example.com", "source", "webinar", "name", "Grace Hopper"))))
	keep(e.must(200, e.do("sales", "POST", "/v1/leads/"+l1+"/contact-attempts", `{"channel":"call","outcome":"reached"}`)))
	keep(e.must(200, e.do("sales", "POST", "/v1/leads/"+l1+"/qualify", `{}`)))
	conv := keep(e.must(200, e.do("sales", "POST", "/v1/leads/"+l1+"/convert", `{"opportunity":{"name":"Deal","amount":"1000.50","currency":"EUR","expected_close_date":"2027-03-31"}}`)))
	keep(e.must(200, e.do("sales", "POST", "/v1/leads/"+l2+"/disqualify", `{"reason":"no budget"}`)))
	opp := conv.str("opportunity_id")
	keep(e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/stage", `{"stage":"proposal"}`)))
	acc := conv.str("account_id")
	o2 := keep(e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+acc+`","name":"Second","amount":"300","currency":"USD","expected_close_date":"2027-01-15"}`))).str("id")
	keep(e.must(200, e.do("sales", "POST", "/v1/opportunities/"+o2+"/stage", `{"stage":"closed_lost","reason":"price"}`)))
	tk := keep(e.must(201, e.do("support", "POST", "/v1/tickets", `{"subject":"Broken","priority":"urgent","channel":"chat","account_id":"`+acc+`"}`))).str("id")
	keep(e.must(200, e.do("support", "POST", "/v1/tickets/"+tk+"/responses", `{"body":"hi"}`)))
	keep(e.must(200, e.do("support", "POST", "/v1/tickets/"+tk+"/resolve", `{"resolution":"fixed"}`)))
	keep(e.must(200, e.do("sales", "POST", "/v1/accounts/"+acc+"/tags", `{"add":["key","emea"]}`)))
	return last
}

// readModelURLs are the read-model reads whose answers must not depend on
// how the read models were built.
var readModelURLs = []string{
	"/v1/leads", "/v1/leads?source=webinar", "/v1/leads?q=zeta", "/v1/accounts", "/v1/contacts", "/v1/opportunities",
	"/v1/tickets", "/v1/tickets?breached=true", "/v1/opportunities?q=secon", "/v1/tickets?q=BROK",
	"/v1/reports/funnel", "/v1/reports/funnel?group_by=owner", "/v1/reports/funnel?group_by=source",
	"/v1/reports/funnel?group_by=campaign&from=2027-01-05", "/v1/reports/pipeline", "/v1/reports/dashboard",
	"/v1/reports/dashboard?from=2027-01-13T09:00:00Z",
	"/v1/audit?limit=500", "/v1/audit?format=csv", "/v1/audit?format=ndjson&entity_type=opportunity",
}

func snapshot(t *testing.T, e *env, pos string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, u := range readModelURLs {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		r := e.must(200, e.do("admin", "GET", u+sep+"min_position="+pos, nil))
		out[u] = string(r.raw)
	}
	return out
}

func TestReadModelsFollowCommands(t *testing.T) {
	e := newEnv(t)
	pos := scenario(t, e)
	leads := e.must(200, e.do("sales", "GET", "/v1/leads?min_position="+pos, nil))
	if n := len(leads.body["items"].([]any)); n != 3 {
		t.Fatalf("%d leads listed, want 3: %s", n, leads.raw)
	}
	// Free text: opportunities by name, tickets by subject, any case.
	for u, want := range map[string]string{"/v1/opportunities?q=SECON": "Second", "/v1/opportunities?q=deal": "Deal", "/v1/tickets?q=brok": "Broken"} {
		r := e.must(200, e.do("admin", "GET", u+"&min_position="+pos, nil))
		items := r.body["items"].([]any)
		if len(items) != 1 || !strings.Contains(string(r.raw), `"`+want+`"`) {
			t.Errorf("%s: %s", u, r.raw)
		}
	}
	if r := e.must(200, e.do("admin", "GET", "/v1/tickets?q=nothing-like-it&min_position="+pos, nil)); len(r.body["items"].([]any)) != 0 {
		t.Errorf("unmatched ticket search: %s", r.raw)
	}
	web := e.must(200, e.do("sales", "GET", "/v1/leads?source=webinar&min_position="+pos, nil))
	if n := len(web.body["items"].([]any)); n != 2 {
		t.Errorf("%d webinar leads, want 2", n)
	}
	page := e.must(200, e.do("sales", "GET", "/v1/leads?limit=2&min_position="+pos, nil))
	next, _ := page.body["next_cursor"].(string)
	if len(page.body["items"].([]any)) != 2 || next == "" {
		t.Fatalf("first page: %s", page.raw)
	}
	rest := e.must(200, e.do("sales", "GET", "/v1/leads?limit=2&cursor="+next, nil))
	if len(rest.body["items"].([]any)) != 1 || rest.body["next_cursor"] != nil {
		t.Errorf("second page: %s", rest.raw)
	}
	e.must(400, e.do("sales", "GET", "/v1/leads?limit=0", nil))
	e.must(400, e.do("sales", "GET", "/v1/leads?min_position=soon", nil))
	e.must(400, e.do("sales", "GET", "/v1/leads?cursor=not-a-cursor", nil))
	e.must(403, e.do("support", "GET", "/v1/leads", nil))

	st := e.must(200, e.do("admin", "GET", "/v1/projections", nil))
	if n := len(st.body["items"].([]any)); n != len(e.engine.Names()) {
		t.Errorf("projections: %s", st.raw)
	}

	// The event feed pages through the whole log in order.
	var seen []string
	after := ""
	for {
		r := e.must(200, e.do("analyst", "GET", "/v1/events?limit=7&after="+after, nil))
		items := r.body["items"].([]any)
		for _, it := range items {
			seen = append(seen, it.(map[string]any)["cursor"].(string))
		}
		if len(items) == 0 {
			break
		}
		after = r.body["next_cursor"].(string)
	}
	if len(seen) != e.eventCount() {
		t.Fatalf("feed returned %d events, log has %d", len(seen), e.eventCount())
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("feed out of order at %d", i)
		}
	}
	typed := e.must(200, e.do("analyst", "GET", "/v1/events?types=ticket.*,lead.qualified.v1", nil))
	for _, it := range typed.body["items"].([]any) {
		typ := it.(map[string]any)["type"].(string)
		if !strings.HasPrefix(typ, "ticket.") && typ != "lead.qualified.v1" {
			t.Errorf("feed returned %s", typ)
		}
	}
	if n := len(typed.body["items"].([]any)); n != 4 {
		t.Errorf("%d typed events, want 4", n)
	}
	e.must(400, e.do("analyst", "GET", "/v1/events?after=nope", nil))
}

// TestReadModelsAreDeterministic: every read-model answer is byte-identical
// after rebuilding every projection, and after dropping every read-model
// table and rebuilding.
func TestReadModelsAreDeterministic(t *testing.T) {
	clock := &testClock{now: reportT0}
	e := newEnvClock(t, clock.Now)
	reportScenario(t, e, clock)
	clock.set(at(20 * day))
	pos := scenario(t, e)
	before := snapshot(t, e, pos)
	names := e.engine.Names()
	for _, name := range names {
		e.must(202, e.do("admin", "POST", "/v1/projections/"+name+"/rebuild", nil))
	}
	waitRebuilt(t, e, len(names))
	compare(t, "after rebuild --all", before, snapshot(t, e, pos))

	ctx := context.Background()
	for _, name := range names {
		if _, err := e.pool.Exec(ctx, `DROP SCHEMA rm_`+name+` CASCADE`); err != nil {
			t.Fatal(err)
		}
		if err := e.engine.Rebuild(ctx, name, nil); err != nil {
			t.Fatal(err)
		}
	}
	compare(t, "after dropping every table and rebuilding", before, snapshot(t, e, pos))
	e.must(404, e.do("admin", "POST", "/v1/projections/nope/rebuild", nil))
	e.must(403, e.do("manager", "POST", "/v1/projections/lists/rebuild", nil))
}

func waitRebuilt(t *testing.T, e *env, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st := e.must(200, e.do("admin", "GET", "/v1/projections", nil))
		done := 0
		for _, it := range st.body["items"].([]any) {
			if rb, ok := it.(map[string]any)["rebuild"].(map[string]any); ok && rb["state"] == "done" {
				done++
			}
		}
		if done == n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("rebuilds did not finish")
}

func compare(t *testing.T, when string, want, got map[string]string) {
	t.Helper()
	for u, w := range want {
		if got[u] != w {
			t.Errorf("%s: %s changed:\nbefore %s\nafter  %s", when, u, w, got[u])
		}
	}
	if len(want) != len(readModelURLs) {
		t.Fatal(fmt.Sprint("missing answers: ", len(want)))
	}
}
