package api_test

import (
	"strings"
	"testing"
)

// TestImportAccountsAndContacts: accounts are duplicates by normalised
// company name, contacts by email and need an existing account; bad
// files and mappings are refused naming the field, row and column, and
// store nothing.
func TestImportAccountsAndContacts(t *testing.T) {
	e, _ := pillarsEnv(t)
	tr := &tracker{e: e}
	existing := tr.cmd(201, "sales", "POST", "/v1/accounts", map[string]any{"name": "Engines Ltd"}).str("id")
	tr.cmd(200, "sales", "POST", "/v1/accounts/"+existing+"/details", map[string]any{"region": "EMEA"})
	tr.read("sales", "/v1/accounts?limit=1")

	accounts := "name,industry,tier,region\n" +
		"ENGINES LTD.,manufacturing,standard,EMEA\n" + // the existing account
		"Carver & Co,retail,vip,EMEA\n" +
		"Carver and Co,retail,standard,EMEA\n" + // not the same name
		"carver & co.,retail,standard,EMEA\n" + // row 3 again
		"Gold Corp,mining,gold,APAC\n" // a bad tier
	dry := e.must(200, e.do("sales", "POST", "/v1/imports", map[string]any{"kind": "accounts", "dry_run": true, "csv": accounts}))
	var rep struct {
		Created, Duplicates, Invalid int
		WouldCreate                  int `json:"would_create"`
		Problems                     []struct {
			Row           int
			Column, Field string
		}
		Results []struct {
			Row          int
			Action       string
			DuplicateOf  string `json:"duplicate_of"`
			DuplicateRow int    `json:"duplicate_row"`
		}
	}
	decodeInto(t, dry.raw, &rep)
	if rep.WouldCreate != 2 || rep.Duplicates != 2 || rep.Invalid != 1 || rep.Problems[0].Row != 6 || rep.Problems[0].Column != "tier" ||
		rep.Results[0].DuplicateOf != existing || rep.Results[3].DuplicateRow != 3 {
		t.Fatalf("accounts dry run: %s", dry.raw)
	}
	before := e.eventCount()
	fixed := strings.Replace(accounts, "Gold Corp,mining,gold,APAC\n", "", 1)
	run := e.must(200, e.do("sales", "POST", "/v1/imports", map[string]any{"kind": "accounts", "csv": fixed}))
	decodeInto(t, run.raw, &rep)
	if rep.Created != 2 || rep.Duplicates != 2 || e.eventCount() != before+2 {
		t.Fatalf("accounts run: %s", run.raw)
	}
	// Run again at once, before the read models have the new accounts:
	// the chunk was stored once and is not stored again.
	again := e.must(200, e.do("sales", "POST", "/v1/imports", map[string]any{"kind": "accounts", "csv": fixed}))
	if e.eventCount() != before+2 {
		t.Fatalf("accounts run again stored events: %s", again.raw)
	}

	contacts := "Account,Name,Mail\n" +
		existing + ",Ada,ada@engines.example\n" +
		existing + ",Ada again,ADA@engines.example\n" +
		"01a2f000-0000-7000-8000-000000000000,Nobody,no@where.example\n" +
		existing + ",Bob,bob@\n"
	mapping := map[string]string{"Account": "account_id", "Name": "name", "Mail": "email"}
	dryC := e.must(200, e.do("sales", "POST", "/v1/imports", map[string]any{"kind": "contacts", "dry_run": true, "mapping": mapping, "csv": contacts}))
	decodeInto(t, dryC.raw, &rep)
	if rep.WouldCreate != 1 || rep.Duplicates != 1 || rep.Invalid != 2 {
		t.Fatalf("contacts dry run: %s", dryC.raw)
	}
	cols := map[int]string{}
	for _, p := range rep.Problems {
		cols[p.Row] = p.Column + ":" + p.Field
	}
	if cols[4] != "Account:account_id" || cols[5] != "Mail:email" {
		t.Errorf("contact problems: %v", cols)
	}
	good := "Account,Name,Mail\n" + existing + ",Ada,ada@engines.example\n" + existing + ",Cleo,cleo@engines.example\n"
	runC := e.must(200, e.do("sales", "POST", "/v1/imports", map[string]any{"kind": "contacts", "mapping": mapping, "csv": good}))
	decodeInto(t, runC.raw, &rep)
	if rep.Created != 2 {
		t.Fatalf("contacts run: %s", runC.raw)
	}
	acc := e.must(200, e.do("sales", "GET", "/v1/accounts/"+existing, nil))
	if n := len(acc.body["contacts"].([]any)); n != 2 {
		t.Errorf("account has %d contacts: %s", n, acc.raw)
	}
	againC := e.must(200, e.do("sales", "POST", "/v1/imports", map[string]any{"kind": "contacts", "mapping": mapping, "csv": good}))
	decodeInto(t, againC.raw, &rep)
	if rep.Created != 0 || rep.Duplicates != 2 {
		t.Errorf("contacts again: %s", againC.raw)
	}

	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"an unknown kind", map[string]any{"kind": "deals", "csv": "a\n1\n"}, "kind"},
		{"no file", map[string]any{"kind": "leads", "csv": " "}, "csv"},
		{"a mapping to an unknown field", map[string]any{"kind": "leads", "csv": "a\n1\n", "mapping": map[string]string{"a": "salary"}}, "mapping.a"},
		{"a mapping of a missing column", map[string]any{"kind": "leads", "csv": "a\n1\n", "mapping": map[string]string{"b": "name"}}, "mapping.b"},
		{"two columns to one field", map[string]any{"kind": "leads", "csv": "a,b\n1,2\n", "mapping": map[string]string{"a": "name", "b": "name"}}, "mapping.b"},
		{"a malformed row", map[string]any{"kind": "leads", "csv": "name,email\n\"unclosed,x\n"}, "csv"},
		{"a header twice", map[string]any{"kind": "leads", "csv": "name,name\nx,y\n"}, "csv"},
		{"an unknown request field", map[string]any{"kind": "leads", "csv": "name\nx\n", "rows": 1}, "rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			refused(t, e, 400, c.field, func() response { return e.do("sales", "POST", "/v1/imports", c.body) })
		})
	}
	e.must(403, e.do("support", "POST", "/v1/imports", map[string]any{"kind": "leads", "csv": "name\nx\n"}))
	e.must(403, e.do("analyst", "POST", "/v1/imports", map[string]any{"kind": "leads", "csv": "name\nx\n"}))
}

// TestEngagementRefusals: bad campaigns, forms, articles and reads get a
// problem naming the field and store nothing.
func TestEngagementRefusals(t *testing.T) {
	e, _ := pillarsEnv(t)
	camp := e.must(201, e.do("sales", "POST", "/v1/campaigns", map[string]any{"name": "C", "channel": "email",
		"start_date": "2027-01-01", "budget": "10.00", "currency": "EUR"})).str("id")
	campaign := map[string]any{"name": "C", "channel": "email", "start_date": "2027-01-01", "budget": "10.00", "currency": "EUR"}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		field        string
	}{
		{"POST", "/v1/campaigns", with(campaign, "channel", "radio"), 400, "channel"},
		{"POST", "/v1/campaigns", with(campaign, "budget", 10.5), 400, "budget"},
		{"POST", "/v1/campaigns", with(campaign, "budget", "-5"), 400, "budget"},
		{"POST", "/v1/campaigns", with(campaign, "end_date", "2026-12-31"), 400, "end_date"},
		{"POST", "/v1/campaigns", with(campaign, "currency", "EURO"), 400, "currency"},
		{"POST", "/v1/campaigns/" + camp + "/cost", map[string]any{"actual_cost": "5", "currency": "USD"}, 400, "currency"},
		{"POST", "/v1/campaigns/" + camp + "/status", map[string]any{"status": "paused"}, 400, "status"},
		{"POST", "/v1/webforms", map[string]any{"name": "F", "campaign_id": "nope"}, 400, "campaign_id"},
		{"POST", "/v1/webforms", map[string]any{"name": "F", "campaign_id": "01a2f000-0000-7000-8000-000000000000"}, 400, "campaign_id"},
		{"POST", "/v1/webforms", map[string]any{"name": "F", "allowed_origins": []string{"https://x.example/path"}}, 400, "allowed_origins"},
		{"POST", "/v1/webforms", map[string]any{"name": "F", "fields": []string{"password"}}, 400, "fields"},
		{"POST", "/v1/articles", map[string]any{"title": "T"}, 400, "body"},
		{"POST", "/v1/articles", map[string]any{"title": "T", "body": "B", "tags": "x"}, 400, "tags"},
		{"GET", "/v1/articles?q=" + strings.Repeat("x", 201), nil, 400, "q"},
		{"GET", "/v1/tasks?due_before=tomorrow", nil, 400, "due_before"},
		{"GET", "/v1/tasks?done=maybe", nil, 400, "done"},
	} {
		role := "sales"
		switch {
		case strings.HasPrefix(c.path, "/v1/webforms"):
			role = "admin"
		case strings.HasPrefix(c.path, "/v1/articles"):
			role = "support"
		}
		refused(t, e, c.status, c.field, func() response { return e.do(role, c.method, c.path, c.body) })
	}
	e.must(404, e.do("sales", "POST", "/v1/campaigns/01a2f000-0000-7000-8000-000000000000/cost", map[string]any{"actual_cost": "5", "currency": "EUR"}))
	e.must(403, e.do("sales", "POST", "/v1/articles", map[string]any{"title": "T", "body": "B"}))
	e.must(403, e.do("support", "GET", "/v1/reports/campaigns", nil))
}
