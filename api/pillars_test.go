package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"crm/api"
	"crm/internal/app"
)

// pillarsT0 is when the marketing and service scenario starts.
var pillarsT0 = time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)

// pillarsEnv is an API on the scenario clock whose web forms allow 3
// posts per client address, then one a minute.
func pillarsEnv(t *testing.T) (*env, *testClock) {
	clock := &testClock{now: pillarsT0}
	e := newEnvWith(t, func(c *app.Config) {
		c.Clock = clock.Now
		c.HTTP.Engagement.WebForms = api.WebFormLimits{PerIP: api.RateLimit{PerSecond: 1.0 / 60, Burst: 3},
			PerForm: api.RateLimit{PerSecond: 100, Burst: 100}}
	})
	return e, clock
}

// tracker remembers the newest log position a command returned, for
// read-your-writes.
type tracker struct {
	e   *env
	pos string
}

func (tr *tracker) cmd(status int, role, method, path string, body any, headers ...string) response {
	tr.e.t.Helper()
	r := tr.e.must(status, tr.e.do(role, method, path, body, headers...))
	if p := r.str("position"); p != "" && p > tr.pos {
		tr.pos = p
	}
	return r
}

// read is a GET that waits for the read models to reach the newest
// position.
func (tr *tracker) read(role, path string) response {
	tr.e.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return tr.e.must(200, tr.e.do(role, "GET", path+sep+"min_position="+url.QueryEscape(tr.pos), nil))
}

// post sends a public form post.
func (e *env) post(token, contentType, body string, headers ...string) response {
	e.t.Helper()
	return e.do("", "POST", "/f/"+token, body, append([]string{"Content-Type", contentType}, headers...)...)
}

// refused checks a problem+json answer naming field, and that it stored
// nothing.
func refused(t *testing.T, e *env, status int, field string, send func() response) response {
	t.Helper()
	before := e.eventCount()
	r := send()
	if r.status != status || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d (%s), want %d problem+json: %s", r.status, r.header.Get("Content-Type"), status, r.raw)
	}
	if field != "" {
		found := false
		errs, _ := r.body["errors"].([]any)
		for _, fe := range errs {
			// The field itself, or an element or member of it
			// (fields[0], payment_plan.count).
			if f, _ := fe.(map[string]any)["field"].(string); f == field || strings.HasPrefix(f, field+"[") || strings.HasPrefix(f, field+".") {
				found = true
			}
		}
		if !found {
			t.Fatalf("problem does not name field %q: %s", field, r.raw)
		}
	}
	if n := e.eventCount(); n != before {
		t.Fatalf("a refused request stored %d events", n-before)
	}
	return r
}

func leadsOf(t *testing.T, tr *tracker, campaign string) []map[string]any {
	t.Helper()
	r := tr.read("sales", "/v1/leads?limit=500&campaign="+campaign)
	var out []map[string]any
	for _, it := range r.body["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// TestMarketingAndServiceScenario walks the marketing and service
// pillars over HTTP with hand-computed figures: two campaigns with costs,
// leads through a web form and an import, conversions and wins, the ROI
// report, a form flood, a duplicate submission, the import's dry run and
// idempotent real run, knowledge-base suggestions in English and Chinese,
// an account's timeline and an at-risk account.
func TestMarketingAndServiceScenario(t *testing.T) {
	e, clock := pillarsEnv(t)
	tr := &tracker{e: e}
	after := func(d time.Duration) { clock.set(pillarsT0.Add(d)) }

	// Two campaigns with budgets and actual costs.
	campA := tr.cmd(201, "sales", "POST", "/v1/campaigns", map[string]any{"name": "Webinar Q1", "channel": "webinar",
		"start_date": "2027-03-01", "end_date": "2027-03-31", "budget": "5000.00", "currency": "EUR"}).str("id")
	campB := tr.cmd(201, "sales", "POST", "/v1/campaigns", map[string]any{"name": "Trade show Hannover", "channel": "trade_show",
		"start_date": "2027-03-10", "budget": "20000.00", "currency": "EUR", "status": "active"}).str("id")
	tr.cmd(200, "sales", "POST", "/v1/campaigns/"+campA+"/cost", map[string]any{"actual_cost": "4000.00", "currency": "EUR"})
	tr.cmd(200, "sales", "POST", "/v1/campaigns/"+campB+"/cost", map[string]any{"actual_cost": "10000.00", "currency": "EUR", "note": "booth and travel"})
	if c := e.must(200, e.do("sales", "GET", "/v1/campaigns/"+campA, nil)); c.str("actual_cost") != "4000.00" || c.str("budget") != "5000.00" || c.str("status") != "planned" {
		t.Fatalf("campaign A: %s", c.raw)
	}

	list := tr.read("sales", "/v1/campaigns?status=planned")
	if items := list.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != campA ||
		items[0].(map[string]any)["actual_cost"] != "4000.00" {
		t.Errorf("planned campaigns: %s", list.raw)
	}
	refused(t, e, 400, "channel", func() response { return e.do("sales", "GET", "/v1/campaigns?channel=radio", nil) })

	// A web form for campaign A (admin only).
	e.must(403, e.do("sales", "POST", "/v1/webforms", map[string]any{"name": "x", "campaign_id": campA}))
	form := tr.cmd(201, "admin", "POST", "/v1/webforms", map[string]any{"name": "Webinar sign-up", "campaign_id": campA,
		"fields": []string{"phone", "message"}, "allowed_origins": []string{"https://www.example.com"}})
	token := form.str("token")
	if len(token) != 32 || form.str("url") != "/f/"+token {
		t.Fatalf("form: %s", form.raw)
	}

	// Two leads through the form: JSON from the allowed origin (CORS
	// answered), and a plain browser form post.
	ada := e.post(token, "application/json", `{"name":"Ada Lovelace","company":"Analytical Engines","email":"ada@engines.example","message":"Send the slides"}`,
		"Origin", "https://www.example.com")
	if ada.status != 200 || ada.header.Get("Access-Control-Allow-Origin") != "https://www.example.com" {
		t.Fatalf("form post: %d %v %s", ada.status, ada.header, ada.raw)
	}
	e.must(200, e.post(token, "application/x-www-form-urlencoded", url.Values{"name": {"Bob Babbage"}, "company": {"Difference Ltd"},
		"email": {"bob@difference.example"}, "phone": {"+44 20 7946 0000"}}.Encode()))
	// The same person again: a contact attempt on the lead, not a second lead.
	e.must(200, e.post(token, "application/json", `{"name":"Ada L.","company":"Analytical Engines","email":"ADA@engines.example","message":"Any news?"}`))

	// A flood from the same address: the bucket (3) is spent.
	beforeFlood := e.eventCount()
	for i := range 5 {
		r := e.post(token, "application/json", fmt.Sprintf(`{"name":"Bot %d","company":"Spam","email":"bot%d@spam.example"}`, i, i))
		if r.status != 429 || r.header.Get("Retry-After") == "" || r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("flood post %d: %d %v %s", i, r.status, r.header, r.raw)
		}
	}
	if n := e.eventCount(); n != beforeFlood {
		t.Fatalf("the flood stored %d events", n-beforeFlood)
	}

	// Refused posts store nothing; each waits a minute so the address
	// has a token.
	step := 10 * time.Minute
	for _, c := range []struct {
		name, ct, body string
		headers        []string
		status         int
		field          string
	}{
		{"an origin not allowed", "application/json", `{"name":"Eve","company":"Evil","email":"eve@evil.example"}`, []string{"Origin", "https://evil.example"}, 403, ""},
		{"a field the form lacks", "application/json", `{"name":"Eve","company":"Evil","email":"eve@evil.example","industry":"x"}`, nil, 400, "industry"},
		{"no email", "application/x-www-form-urlencoded", "name=Eve&company=Evil", nil, 400, "email"},
		{"a bad email", "application/json", `{"name":"Eve","company":"Evil","email":"eve@"}`, nil, 400, "email"},
		{"a number for a name", "application/json", `{"name":1,"company":"Evil","email":"eve@evil.example"}`, nil, 400, "name"},
		{"another content type", "text/plain", `name=Eve`, nil, 415, "Content-Type"},
		{"a body over 16 KiB", "application/json", `{"name":"` + strings.Repeat("e", 17<<10) + `"}`, nil, 413, ""},
	} {
		step += time.Minute
		after(step)
		t.Run("form refuses "+c.name, func(t *testing.T) {
			refused(t, e, c.status, c.field, func() response { return e.post(token, c.ct, c.body, c.headers...) })
		})
	}
	step += time.Minute
	after(step)
	refused(t, e, 404, "", func() response { return e.post(strings.Repeat("x", 32), "application/json", `{}`) })
	// A filled honeypot is answered as a success and kept nowhere.
	step += time.Minute
	after(step)
	before := e.eventCount()
	e.must(200, e.post(token, "application/json", `{"name":"Bot","company":"Spam","email":"hp@spam.example","website":"http://spam.example"}`))
	if e.eventCount() != before {
		t.Fatal("a honeypot submission was stored")
	}
	// Preflight: allowed origin yes, others no.
	pre := e.do("", "OPTIONS", "/f/"+token, nil, "Origin", "https://www.example.com", "Access-Control-Request-Method", "POST")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://www.example.com" {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
	if pre := e.do("", "OPTIONS", "/f/"+token, nil, "Origin", "https://evil.example"); pre.status != 403 || pre.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %d %v", pre.status, pre.header)
	}
	// A disabled form's token answers 404 and stores nothing.
	spare := tr.cmd(201, "admin", "POST", "/v1/webforms", map[string]any{"name": "Old form"})
	refused(t, e, 400, "reason", func() response {
		return e.do("admin", "POST", "/v1/webforms/"+spare.str("id")+"/disable", map[string]any{})
	})
	tr.cmd(200, "admin", "POST", "/v1/webforms/"+spare.str("id")+"/disable", map[string]any{"reason": "campaign over"})
	if f := e.must(200, e.do("admin", "GET", "/v1/webforms/"+spare.str("id"), nil)); f.body["active"] != false {
		t.Errorf("disabled form: %s", f.raw)
	}
	step += time.Minute
	after(step)
	refused(t, e, 404, "", func() response {
		return e.post(spare.str("token"), "application/json", `{"name":"A","company":"B","email":"late@example.com"}`)
	})

	// The request audit records every submission, accepted or refused.
	reqs := e.must(200, e.do("auditor", "GET", "/v1/audit/requests?limit=500", nil))
	counts := map[float64]int{}
	for _, it := range reqs.body["items"].([]any) {
		m := it.(map[string]any)
		if m["route"] == "/f/{form_token}" && m["method"] == "POST" {
			counts[m["status"].(float64)]++
		}
	}
	if counts[200] != 4 || counts[429] != 5 || counts[400] != 4 || counts[403] != 1 || counts[404] != 2 || counts[413] != 1 || counts[415] != 1 {
		t.Errorf("request audit of the form posts by status: %v", counts)
	}

	// Leads of campaign A: two, Ada's with the contact attempt.
	tr.cmd(201, "sales", "POST", "/v1/leads", leadWith("email", "someone@else.example"))
	leadsA := leadsOf(t, tr, campA)
	if len(leadsA) != 2 {
		t.Fatalf("campaign A has %d leads, want 2: %v", len(leadsA), leadsA)
	}
	var adaID, bobID string
	for _, l := range leadsA {
		switch l["email"] {
		case "ada@engines.example":
			adaID = l["id"].(string)
			if l["contact_attempts"] != float64(1) || l["status"] != "contacted" || l["source"] != "web_form" {
				t.Errorf("Ada's lead after the duplicate submission: %v", l)
			}
		case "bob@difference.example":
			bobID = l["id"].(string)
		}
	}
	if adaID == "" || bobID == "" {
		t.Fatalf("leads of campaign A: %v", leadsA)
	}
	hist := e.must(200, e.do("sales", "GET", "/v1/leads/"+adaID+"/history", nil))
	last := hist.body["items"].([]any)[1].(map[string]any)
	if last["type"] != "lead.contact_attempted.v1" || !strings.Contains(fmt.Sprint(last["data"]), "Any news?") ||
		last["metadata"].(map[string]any)["actor"] != "webform:"+form.str("id") {
		t.Errorf("the duplicate submission's event: %v", last)
	}

	// Campaign B's leads come from a file: a dry run names the bad and the
	// duplicate rows and stores nothing.
	after(time.Hour)
	csvText := "Full name,Company,E-mail,Source,Campaign\n" +
		"Cara Carver,Carver & Co,cara@carver.example,trade_show," + campB + "\n" +
		"Dan Dorsey,Dorsey Ltd,dan@dorsey.example,trade_show," + campB + "\n" +
		"Eve Evans,Evans Inc,not-an-email,trade_show," + campB + "\n" +
		"Bob Babbage,Difference Ltd,bob@difference.example,trade_show," + campB + "\n" +
		"Cara C.,Carver & Co,CARA@carver.example,trade_show," + campB + "\n" +
		"Finn Fischer,Fischer GmbH,finn@fischer.example,trade_show," + campB + "\n"
	mapping := map[string]string{"Full name": "name", "Company": "company", "E-mail": "email", "Source": "source", "Campaign": "campaign"}
	before = e.eventCount()
	dry := e.must(200, e.do("sales", "POST", "/v1/imports", map[string]any{"kind": "leads", "dry_run": true, "mapping": mapping, "csv": csvText}))
	var rep struct {
		Rows, Created, Duplicates, Invalid int
		WouldCreate                        int `json:"would_create"`
		Problems                           []struct {
			Row           int
			Column, Field string
			Message       string
		}
		Results []struct {
			Row          int
			Action       string
			ID           string
			DuplicateOf  string `json:"duplicate_of"`
			DuplicateRow int    `json:"duplicate_row"`
		}
	}
	decodeInto(t, dry.raw, &rep)
	if rep.Rows != 6 || rep.WouldCreate != 3 || rep.Invalid != 1 || rep.Duplicates != 2 || rep.Created != 0 {
		t.Fatalf("dry run: %s", dry.raw)
	}
	if p := rep.Problems[0]; p.Row != 4 || p.Column != "E-mail" || p.Field != "email" {
		t.Errorf("dry run problem: %+v", p)
	}
	if r := rep.Results[3]; r.Row != 5 || r.Action != "duplicate" || r.DuplicateOf != bobID {
		t.Errorf("row 5 (Bob, an existing lead): %+v", r)
	}
	if r := rep.Results[4]; r.Row != 6 || r.Action != "duplicate" || r.DuplicateRow != 2 {
		t.Errorf("row 6 (Cara again): %+v", r)
	}
	for _, i := range []int{0, 1, 5} {
		if rep.Results[i].Action != "create" {
			t.Errorf("row %d: %+v", rep.Results[i].Row, rep.Results[i])
		}
	}
	if e.eventCount() != before {
		t.Fatal("the dry run stored events")
	}
	// The real run refuses a file with a bad row, naming row and column.
	bad := refused(t, e, 400, "email", func() response {
		return e.do("sales", "POST", "/v1/imports", map[string]any{"kind": "leads", "mapping": mapping, "csv": csvText})
	})
	if fe := bad.body["errors"].([]any)[0].(map[string]any); fe["row"] != float64(4) || fe["column"] != "E-mail" {
		t.Errorf("real run refusal: %s", bad.raw)
	}
	// Without it, the real run creates the three new leads; running it
	// again creates nothing.
	fixed := strings.Replace(csvText, "Eve Evans,Evans Inc,not-an-email,trade_show,"+campB+"\n", "", 1)
	run := e.must(200, e.do("sales", "POST", "/v1/imports", map[string]any{"kind": "leads", "mapping": mapping, "csv": fixed}))
	decodeInto(t, run.raw, &rep)
	if rep.Rows != 5 || rep.Created != 3 || rep.Duplicates != 2 || rep.Invalid != 0 {
		t.Fatalf("real run: %s", run.raw)
	}
	afterRun := e.eventCount()
	if afterRun != before+3 {
		t.Fatalf("the real run stored %d events, want 3", afterRun-before)
	}
	again := e.must(200, e.do("sales", "POST", "/v1/imports", map[string]any{"kind": "leads", "mapping": mapping, "csv": fixed}))
	decodeInto(t, again.raw, &rep)
	if rep.Created != 0 || rep.Duplicates != 5 || e.eventCount() != afterRun {
		t.Fatalf("second real run: %s", again.raw)
	}
	// The next command's position covers the import.
	tr.cmd(200, "sales", "POST", "/v1/campaigns/"+campB+"/status", map[string]any{"status": "completed"})
	leadsB := leadsOf(t, tr, campB)
	if len(leadsB) != 3 {
		t.Fatalf("campaign B has %d leads, want 3", len(leadsB))
	}
	byEmail := map[string]string{}
	for _, l := range append(leadsA, leadsB...) {
		byEmail[l["email"].(string)] = l["id"].(string)
	}

	// Conversions and wins. A: Ada won (30,000), Bob lost (12,000).
	// B: Cara won (50,000), Dan qualified only, Finn untouched.
	after(2 * time.Hour)
	convert := func(email, name, amount string) (account, opp string) {
		id := byEmail[email]
		tr.cmd(200, "sales", "POST", "/v1/leads/"+id+"/qualify", map[string]any{})
		r := tr.cmd(200, "sales", "POST", "/v1/leads/"+id+"/convert", map[string]any{"opportunity": map[string]any{
			"name": name, "amount": amount, "currency": "EUR", "expected_close_date": "2027-06-30"}})
		return r.str("account_id"), r.str("opportunity_id")
	}
	adaAccount, adaOpp := convert("ada@engines.example", "Engines 2027", "30000.00")
	_, bobOpp := convert("bob@difference.example", "Difference engine", "12000.00")
	caraAccount, caraOpp := convert("cara@carver.example", "Carver fleet", "50000.00")
	tr.cmd(200, "sales", "POST", "/v1/leads/"+byEmail["dan@dorsey.example"]+"/qualify", map[string]any{})
	tr.cmd(200, "sales", "POST", "/v1/opportunities/"+adaOpp+"/stage", map[string]any{"stage": "closed_won"})
	tr.cmd(200, "sales", "POST", "/v1/opportunities/"+bobOpp+"/stage", map[string]any{"stage": "closed_lost", "reason": "no budget"})
	tr.cmd(200, "sales", "POST", "/v1/opportunities/"+caraOpp+"/stage", map[string]any{"stage": "closed_won"})

	// Ada, now a contact of her account, posts the form again: a note on
	// the account, no new lead.
	e.must(200, e.post(token, "application/json", `{"name":"Ada","company":"Analytical Engines","email":"ada@engines.example","message":"Renewal?"}`))
	notes := 0
	for _, it := range e.must(200, e.do("sales", "GET", "/v1/accounts/"+adaAccount+"/history", nil)).body["items"].([]any) {
		m := it.(map[string]any)
		if m["type"] == "activity.logged.v1" && strings.Contains(fmt.Sprint(m["data"]), "Renewal?") {
			notes++
		}
	}
	if notes != 1 {
		t.Errorf("a contact's submission made %d notes on the account", notes)
	}

	// The ROI report, by hand:
	//   A: cost 4000, 2 leads, both qualified and converted, 2 opportunities,
	//      1 won for 30000: 2000 per lead, 4000 per won deal,
	//      ROI (30000 − 4000) / 4000 = 6.5.
	//   B: cost 10000, 3 leads, 2 qualified (Cara, Dan), 1 converted, 1
	//      opportunity won for 50000: 3333.33 per lead, 10000 per won deal,
	//      ROI (50000 − 10000) / 10000 = 4.
	roi := tr.read("analyst", "/v1/reports/campaigns")
	var report struct {
		Attribution string
		Campaigns   []struct {
			CampaignID                                         string `json:"campaign_id"`
			Cost, WonAmount                                    string
			Leads, Qualified, Converted, Opportunities, WonCnt int
			CostPerLead                                        *string  `json:"cost_per_lead"`
			CostPerWonDeal                                     *string  `json:"cost_per_won_deal"`
			ROI                                                *float64 `json:"roi"`
			WonCount                                           int      `json:"won_count"`
			WonAmountRaw                                       string   `json:"won_amount"`
		}
	}
	decodeInto(t, roi.raw, &report)
	if report.Attribution != "first_touch" || len(report.Campaigns) != 2 {
		t.Fatalf("campaign report: %s", roi.raw)
	}
	type wantRow struct {
		id, cost                               string
		leads, qualified, converted, opps, won int
		wonAmount, perLead, perWon             string
		roi                                    float64
	}
	for i, w := range []wantRow{
		{campA, "4000.00", 2, 2, 2, 2, 1, "30000.00", "2000.00", "4000.00", 6.5},
		{campB, "10000.00", 3, 2, 1, 1, 1, "50000.00", "3333.33", "10000.00", 4},
	} {
		c := report.Campaigns[i]
		if c.CampaignID != w.id || c.Cost != w.cost || c.Leads != w.leads || c.Qualified != w.qualified || c.Converted != w.converted ||
			c.Opportunities != w.opps || c.WonCount != w.won || c.WonAmountRaw != w.wonAmount || c.CostPerLead == nil ||
			*c.CostPerLead != w.perLead || c.CostPerWonDeal == nil || *c.CostPerWonDeal != w.perWon || c.ROI == nil || *c.ROI != w.roi {
			t.Errorf("campaign %d of the report: %s", i, roi.raw)
		}
	}

	// The knowledge base: English and Chinese articles, suggested for the
	// tickets they match.
	after(3 * time.Hour)
	enArticle := tr.cmd(201, "support", "POST", "/v1/articles", map[string]any{"title": "How to reset your password",
		"body": "If you cannot log in, reset the password from the login page.", "tags": []string{"login", "account"}, "publish": true}).str("id")
	zhArticle := tr.cmd(201, "support", "POST", "/v1/articles", map[string]any{"title": "无法登录怎么办",
		"body": "如果您无法登录系统，请在登录页面重置密码。", "tags": []string{"登录"}}).str("id")
	tr.cmd(200, "support", "POST", "/v1/articles/"+zhArticle+"/publish", "")
	invoice := tr.cmd(201, "support", "POST", "/v1/articles", map[string]any{"title": "Invoice formats",
		"body": "Invoices are sent as PDF every month.", "publish": true}).str("id")
	draft := tr.cmd(201, "support", "POST", "/v1/articles", map[string]any{"title": "Password rules (draft)",
		"body": "Passwords need twelve characters to log in."}).str("id")
	rev := tr.cmd(200, "support", "POST", "/v1/articles/"+invoice+"/revisions", map[string]any{"title": "Invoice formats",
		"body": "Invoices are sent as PDF or XML every month.", "tags": []string{"billing"}})
	if rev.body["version"] != float64(3) { // drafted, published, revised
		t.Errorf("revision: %s", rev.raw)
	}
	if a := e.must(200, e.do("support", "GET", "/v1/articles/"+invoice, nil)); a.body["version"] != float64(3) || a.body["article_version"] != float64(2) ||
		a.body["status"] != "published" || a.body["published_version"] != float64(1) {
		t.Errorf("revised article: %s", a.raw)
	}

	enTicket := tr.cmd(201, "support", "POST", "/v1/tickets", map[string]any{"subject": "Cannot log in after the password change",
		"account_id": adaAccount, "priority": "urgent", "channel": "email"}).str("id")
	billing := tr.cmd(201, "support", "POST", "/v1/tickets", map[string]any{"subject": "Billing address wrong",
		"account_id": adaAccount, "priority": "urgent", "channel": "phone"}).str("id")
	zhTicket := tr.cmd(201, "support", "POST", "/v1/tickets", map[string]any{"subject": "登录失败", "priority": "normal", "channel": "web"}).str("id")

	first := func(ticket string) (string, []string) {
		r := tr.read("support", "/v1/tickets/"+ticket+"/suggested-articles")
		var ids []string
		for _, it := range r.body["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		if len(ids) == 0 {
			t.Fatalf("no suggestion for ticket %s: %s", ticket, r.raw)
		}
		return ids[0], ids
	}
	if top, all := first(enTicket); top != enArticle || strings.Contains(strings.Join(all, ","), draft) || strings.Contains(strings.Join(all, ","), zhArticle) {
		t.Errorf("suggestions for the English ticket: %v (want %s first, no draft, no Chinese article)", all, enArticle)
	}
	if top, all := first(zhTicket); top != zhArticle || len(all) != 1 {
		t.Errorf("suggestions for the Chinese ticket: %v (want only %s)", all, zhArticle)
	}
	search := tr.read("support", "/v1/articles?q="+url.QueryEscape("重置密码"))
	if items := search.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != zhArticle {
		t.Errorf("search 重置密码: %s", search.raw)
	}
	// Linking an article is an event on the ticket.
	link := tr.cmd(200, "support", "POST", "/v1/tickets/"+enTicket+"/articles", map[string]any{"article_id": enArticle})
	if ev := link.body["events"].([]any); len(ev) != 1 || ev[0].(map[string]any)["type"] != "ticket.article_linked.v1" {
		t.Errorf("link: %s", link.raw)
	}
	if r := e.do("support", "POST", "/v1/tickets/"+enTicket+"/articles", map[string]any{"article_id": enArticle}); r.status != 409 || r.str("code") != "article_already_linked" {
		t.Errorf("linking twice: %d %s", r.status, r.raw)
	}
	refused(t, e, 400, "article_id", func() response {
		return e.do("support", "POST", "/v1/tickets/"+enTicket+"/articles", map[string]any{"article_id": draft})
	})

	// The billing ticket is answered late and scored 1.
	tr.cmd(200, "sales", "POST", "/v1/accounts/"+adaAccount+"/activities", map[string]any{"kind": "note", "subject": "Kick-off call notes"})
	tr.cmd(200, "sales", "POST", "/v1/accounts/"+adaAccount+"/activities", map[string]any{"kind": "task", "subject": "Send the contract",
		"owner_id": e.owner("rep-1"), "due_at": pillarsT0.Add(5 * time.Hour).Format(time.RFC3339)})
	tr.cmd(200, "support", "POST", "/v1/tickets/"+billing+"/articles", map[string]any{"article_id": invoice})
	after(5 * time.Hour)
	for _, step := range []struct{ path, body string }{{"responses", `{"body":"Fixed"}`}, {"resolve", `{"resolution":"Address corrected"}`},
		{"close", ``}, {"satisfaction", `{"score":1,"comment":"too slow"}`}} {
		tr.cmd(200, "support", "POST", "/v1/tickets/"+billing+"/"+step.path, step.body)
	}

	// The dashboard counts the billing ticket, resolved with an article.
	dash := tr.read("manager", "/v1/reports/dashboard")
	if v := dash.body["service"].(map[string]any)["tickets_resolved_with_article"]; v != float64(1) {
		t.Errorf("dashboard: tickets resolved with an article = %v: %s", v, dash.raw)
	}
	kb := tr.read("manager", "/v1/reports/knowledge")
	if kb.body["published_articles"] != float64(3) || kb.body["tickets_with_article"] != float64(2) ||
		kb.body["resolved_with_article"] != float64(1) || kb.body["resolved_tickets"] != float64(1) {
		t.Errorf("knowledge report: %s", kb.raw)
	}

	// Seventy days on, Carver has a new open deal and a recent call.
	after(69 * 24 * time.Hour)
	tr.cmd(201, "sales", "POST", "/v1/opportunities", map[string]any{"account_id": caraAccount, "name": "Carver renewal",
		"amount": "8000.00", "currency": "EUR", "expected_close_date": "2027-09-30", "owner_id": e.owner("rep-2")})
	tr.cmd(200, "sales", "POST", "/v1/accounts/"+caraAccount+"/activities", map[string]any{"kind": "call", "subject": "Renewal call"})
	after(70 * 24 * time.Hour)

	// Tasks: the contract task is overdue.
	tasks := tr.read("sales", "/v1/tasks?owner_id="+e.owner("rep-1"))
	if items := tasks.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["overdue"] != true ||
		items[0].(map[string]any)["entity_id"] != adaAccount {
		t.Errorf("tasks: %s", tasks.raw)
	}

	// Ada's account is at risk, by hand: 1 open ticket (10), 2 tickets
	// past an SLA target (30), satisfaction 1 (20), last activity 70 days
	// ago (20), no open pipeline (10): 100 − 90 = 10.
	risk := tr.read("manager", "/v1/accounts?health=at_risk")
	items := risk.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != adaAccount {
		t.Fatalf("at-risk accounts: %s", risk.raw)
	}
	health := items[0].(map[string]any)["health"].(map[string]any)
	wantPenalty := map[string]float64{"ticket_volume": 10, "sla_breaches": 30, "satisfaction": 20, "activity_recency": 20, "open_pipeline": 10}
	if health["score"] != float64(10) || health["status"] != "at_risk" {
		t.Errorf("health: %v", health)
	}
	for _, f := range health["factors"].([]any) {
		m := f.(map[string]any)
		if m["penalty"] != wantPenalty[m["name"].(string)] || m["detail"] == "" {
			t.Errorf("factor %v, want penalty %v", m, wantPenalty[m["name"].(string)])
		}
		delete(wantPenalty, m["name"].(string))
	}
	if len(wantPenalty) != 0 {
		t.Errorf("factors missing: %v", wantPenalty)
	}
	if h := tr.read("manager", "/v1/accounts/"+caraAccount+"/health"); h.body["score"] != float64(100) || h.body["status"] != "healthy" {
		t.Errorf("Carver's health: %s", h.raw)
	}
	refused(t, e, 400, "health", func() response { return e.do("manager", "GET", "/v1/accounts?health=sick", nil) })

	// Ada's account's timeline: every event of its lead, the account (with
	// its contact and activities), its opportunity and its two tickets,
	// in log order, page by page.
	want := 0
	for _, s := range []string{"lead-" + adaID, "account-" + adaAccount, "opportunity-" + adaOpp, "ticket-" + enTicket, "ticket-" + billing} {
		want += e.streamCount(s)
	}
	var positions, categories []string
	cursor := ""
	for page := 0; ; page++ {
		path := "/v1/accounts/" + adaAccount + "/timeline?limit=4"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := tr.read("sales", path)
		for _, it := range r.body["items"].([]any) {
			m := it.(map[string]any)
			positions = append(positions, m["position"].(string))
			categories = append(categories, m["category"].(string)+":"+m["event_type"].(string))
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
		if page > 50 {
			t.Fatal("timeline pages do not end")
		}
	}
	if len(positions) != want {
		t.Errorf("timeline has %d entries, the account's streams %d: %v", len(positions), want, categories)
	}
	for i := 1; i < len(positions); i++ {
		if positions[i] <= positions[i-1] {
			t.Fatalf("timeline out of order at %d: %v", i, categories)
		}
	}
	joined := strings.Join(categories, " ")
	for _, w := range []string{"campaign:lead.captured.v1", "campaign:lead.contact_attempted.v1", "lead:lead.converted.v1",
		"account:account.opened.v1", "contact:account.contact_added.v1", "opportunity:opportunity.stage_changed.v1",
		"ticket:ticket.opened.v1", "ticket:ticket.article_linked.v1", "ticket:ticket.satisfaction_recorded.v1", "activity:activity.logged.v1"} {
		if !strings.Contains(joined, w) {
			t.Errorf("timeline lacks %s: %s", w, joined)
		}
	}
	refused(t, e, 400, "cursor", func() response {
		return e.do("sales", "GET", "/v1/accounts/"+adaAccount+"/timeline?cursor=nope", nil)
	})
	e.must(404, e.do("sales", "GET", "/v1/accounts/"+enTicket+"/timeline", nil))
}

func decodeInto(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}

// TestWebFormPerFormLimit: a form's own limit holds whatever the
// addresses, and refills with the (test) clock.
func TestWebFormPerFormLimit(t *testing.T) {
	clock := &testClock{now: pillarsT0}
	e := newEnvWith(t, func(c *app.Config) {
		c.Clock = clock.Now
		c.HTTP.Engagement.WebForms = api.WebFormLimits{PerIP: api.RateLimit{PerSecond: 100, Burst: 100},
			PerForm: api.RateLimit{PerSecond: 1, Burst: 2}, MaxBody: 1 << 10}
	})
	token := e.must(201, e.do("admin", "POST", "/v1/webforms", map[string]any{"name": "F"})).str("token")
	body := func(i int) string {
		return fmt.Sprintf(`{"name":"P%d","company":"C","email":"p%d@example.com"}`, i, i)
	}
	e.must(200, e.post(token, "application/json", body(1)))
	e.must(200, e.post(token, "application/json", body(2)))
	before := e.eventCount()
	r := refused(t, e, 429, "", func() response { return e.post(token, "application/json", body(3)) })
	if r.header.Get("Retry-After") != "1" || r.str("code") != "rate_limited" {
		t.Errorf("429: %v %s", r.header, r.raw)
	}
	clock.set(pillarsT0.Add(time.Second))
	e.must(200, e.post(token, "application/json", body(3)))
	if e.eventCount() != before+1 {
		t.Error("the post after the refill was not stored")
	}
	refused(t, e, 413, "", func() response {
		return e.post(token, "application/json", `{"name":"`+strings.Repeat("x", 2<<10)+`"}`)
	})
}
