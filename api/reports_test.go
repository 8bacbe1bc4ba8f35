package api_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for the commands.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// reportT0 is when the report scenario starts.
var reportT0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return reportT0.Add(d) }

const day = 24 * time.Hour

// ownerA and ownerB are the scenario's two sales reps, registered by
// reportScenario (A first, so its id sorts first). The api tests do not
// run in parallel.
var ownerA, ownerB string

// reportScenario drives leads, deals and tickets through the API at known
// times; the expected figures in the tests below are computed by hand from
// it (see each test). It returns the last command's position.
func reportScenario(t *testing.T, e *env, clock *testClock) string {
	t.Helper()
	ownerA, ownerB = e.user("Owner A"), e.user("Owner B")
	var last string
	cmd := func(when time.Time, status int, role, method, path string, body any) response {
		t.Helper()
		clock.set(when)
		r := e.must(status, e.do(role, method, path, body))
		last = r.str("position")
		return r
	}
	lead := func(when time.Time, email, source, campaign, owner string) string {
		return cmd(when, 201, "sales", "POST", "/v1/leads",
			leadWith("email", email, "source", source, "campaign", campaign, "owner_id", owner)).str("id")
	}
	contact := func(when time.Time, id string) {
		cmd(when, 200, "sales", "POST", "/v1/leads/"+id+"/contact-attempts", `{"channel":"call","outcome":"reached"}`)
	}
	qualify := func(when time.Time, id string) { cmd(when, 200, "sales", "POST", "/v1/leads/"+id+"/qualify", `{}`) }
	stage := func(when time.Time, id, to string) {
		body := `{"stage":"` + to + `"}`
		if to == "closed_lost" {
			body = `{"stage":"closed_lost","reason":"price"}`
		}
		cmd(when, 200, "sales", "POST", "/v1/opportunities/"+id+"/stage", body)
	}

	// Leads. L1 and L2 (webinar, q1, owner A) go all the way; L1 converts
	// with an opportunity, L2 without. L3 (referral, q2, owner B) is
	// contacted then disqualified. L4 (referral, q2, owner B) is qualified
	// without a contact attempt. L5 (ads, no campaign) is only captured.
	l1 := lead(at(0), "l1@example.com", "webinar", "q1", ownerA)
	l2 := lead(at(0), "l2@example.com", "webinar", "q1", ownerA)
	l3 := lead(at(0), "l3@example.com", "referral", "q2", ownerB)
	l4 := lead(at(day), "l4@example.com", "referral", "q2", ownerB)
	contact(at(day), l1)
	contact(at(day), l2)
	contact(at(day), l3)
	qualify(at(2*day), l1)
	qualify(at(2*day), l2)
	qualify(at(2*day), l4)
	cmd(at(2*day), 200, "sales", "POST", "/v1/leads/"+l3+"/disqualify", `{"reason":"no budget"}`)
	conv := cmd(at(3*day), 200, "sales", "POST", "/v1/leads/"+l1+"/convert",
		`{"opportunity":{"name":"A","amount":"1000.00","currency":"EUR","expected_close_date":"2027-02-26"}}`)
	cmd(at(3*day), 200, "sales", "POST", "/v1/leads/"+l2+"/convert", `{}`)
	lead(at(5*day), "l5@example.com", "ads", "", ownerB)
	acc := conv.str("account_id")

	// Deals. OA: prospecting 1 d, qualification 2 d, proposal 1 d,
	// negotiation 3 d, won at T0+10 d (cycle 7 d). OB skips qualification:
	// prospecting 2 d, proposal 3 d, lost at T0+8 d. OC stays in
	// prospecting. OD spends 12 h in prospecting and stays in
	// qualification.
	oa := conv.str("opportunity_id")
	open := func(when time.Time, name, amount, currency, closeDate string) string {
		return cmd(when, 201, "sales", "POST", "/v1/opportunities", fmt.Sprintf(
			`{"account_id":%q,"name":%q,"amount":%q,"currency":%q,"expected_close_date":%q,"owner_id":%q}`,
			acc, name, amount, currency, closeDate, ownerB)).str("id")
	}
	ob := open(at(3*day), "B", "2000.50", "EUR", "2027-02-10")
	oc := open(at(4*day), "C", "500", "USD", "2027-02-15")
	od := open(at(4*day), "D", "300.25", "EUR", "2027-03-10")
	stage(at(4*day), oa, "qualification")
	stage(at(4*day+12*time.Hour), od, "qualification")
	stage(at(5*day), ob, "proposal")
	stage(at(6*day), oa, "proposal")
	stage(at(7*day), oa, "negotiation")
	stage(at(8*day), ob, "closed_lost")
	stage(at(10*day), oa, "closed_won")
	_ = oc

	// Tickets. K1 (urgent) answered in 30 min and resolved in 2 h, both
	// on time, satisfaction 5. K2 (high) answered after 5 h (target 4 h)
	// and resolved after 2 d (target 1 d), satisfaction 3. K3 (normal) is
	// open and unanswered; K4 (low) is open, answered after 1 h.
	ticket := func(when time.Time, prio string) string {
		return cmd(when, 201, "support", "POST", "/v1/tickets",
			`{"subject":"Help","priority":"`+prio+`","channel":"email","account_id":"`+acc+`"}`).str("id")
	}
	k1 := ticket(at(0), "urgent")
	k2 := ticket(at(0), "high")
	k3 := ticket(at(day), "normal")
	k4 := ticket(at(day), "low")
	respond := func(when time.Time, id string) {
		cmd(when, 200, "support", "POST", "/v1/tickets/"+id+"/responses", `{"body":"On it"}`)
	}
	respond(at(30*time.Minute), k1)
	respond(at(5*time.Hour), k2)
	respond(at(day+time.Hour), k4)
	cmd(at(2*time.Hour), 200, "support", "POST", "/v1/tickets/"+k1+"/resolve", `{"resolution":"fixed"}`)
	cmd(at(3*time.Hour), 200, "support", "POST", "/v1/tickets/"+k1+"/close", `{}`)
	cmd(at(4*time.Hour), 200, "support", "POST", "/v1/tickets/"+k1+"/satisfaction", `{"score":5}`)
	cmd(at(2*day), 200, "support", "POST", "/v1/tickets/"+k2+"/resolve", `{"resolution":"fixed"}`)
	cmd(at(2*day+time.Hour), 200, "support", "POST", "/v1/tickets/"+k2+"/satisfaction", `{"score":3}`)
	_ = k3
	return last
}

// getJSON reads url as role and decodes it into a generic value. A
// report's position (a cursor, or empty before any event; checked by
// TestReportsSayTheirPosition) is taken out, so that reports compare by
// their figures.
func getJSON(t *testing.T, e *env, role, url string) any {
	t.Helper()
	r := e.must(200, e.do(role, "GET", url, nil))
	var v any
	if err := json.Unmarshal(r.raw, &v); err != nil {
		t.Fatal(err)
	}
	if m, ok := v.(map[string]any); ok && strings.HasPrefix(url, "/v1/reports/") {
		if p, ok := m["position"].(string); !ok || (p != "" && len(p) != 32) {
			t.Errorf("%s: position %v, want a cursor", url, m["position"])
		}
		delete(m, "position")
	}
	return v
}

// wantJSON compares got with the JSON text want, structurally.
func wantJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation: %v", what, err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("%s:\n got  %s\n want %s", what, g, want)
	}
}

func TestReportsHandComputed(t *testing.T) {
	clock := &testClock{now: reportT0}
	e := newEnvClock(t, clock.Now)
	pos := reportScenario(t, e, clock)
	q := "min_position=" + pos

	// Leads: 5 captured; 4 contacted (L1, L2, L3, and L4 which was
	// qualified); 3 qualified (L1, L2, L4); 2 converted.
	// Deals: 4 opened; 3 reached qualification (OA, OD, and OB which
	// skipped it); 2 proposal (OA, OB); 1 negotiation; 1 won, 1 lost.
	// Days in prospecting: OA 1, OB 2, OD 0.5 -> 3.5/3 = 1.17;
	// qualification: OA 2; proposal: OA 1, OB 3 -> 2; negotiation: OA 3.
	funnel := getJSON(t, e, "manager", "/v1/reports/funnel?"+q).(map[string]any)
	wantJSON(t, "funnel leads", funnel["leads"], `{"stages":[
		{"stage":"captured","count":5,"conversion_rate":null},
		{"stage":"contacted","count":4,"conversion_rate":0.8},
		{"stage":"qualified","count":3,"conversion_rate":0.75},
		{"stage":"converted","count":2,"conversion_rate":0.6667}]}`)
	wantJSON(t, "funnel opportunities", funnel["opportunities"], `{"stages":[
		{"stage":"prospecting","count":4,"conversion_rate":null,"avg_days_in_stage":1.17},
		{"stage":"qualification","count":3,"conversion_rate":0.75,"avg_days_in_stage":2},
		{"stage":"proposal","count":2,"conversion_rate":0.6667,"avg_days_in_stage":2},
		{"stage":"negotiation","count":1,"conversion_rate":0.5,"avg_days_in_stage":3},
		{"stage":"closed_won","count":1,"conversion_rate":1}],
		"won":1,"lost":1,"win_rate":0.5}`)
	if _, ok := funnel["groups"]; ok {
		t.Errorf("groups without group_by: %v", funnel["groups"])
	}

	// Leads captured from T0+1 d: L4 (qualified) and L5.
	from := getJSON(t, e, "analyst", "/v1/reports/funnel?from=2027-01-05T09:00:00Z&to=2027-02-01&"+q).(map[string]any)
	wantJSON(t, "funnel from T0+1d leads", from["leads"], `{"stages":[
		{"stage":"captured","count":2,"conversion_rate":null},
		{"stage":"contacted","count":1,"conversion_rate":0.5},
		{"stage":"qualified","count":1,"conversion_rate":1},
		{"stage":"converted","count":0,"conversion_rate":0}]}`)
	// Deals opened from 2027-01-08: OC and OD (OD reached qualification
	// after 0.5 d in prospecting); leads: L5 only.
	late := getJSON(t, e, "analyst", "/v1/reports/funnel?from=2027-01-08&"+q).(map[string]any)
	wantJSON(t, "funnel from 2027-01-08 leads", late["leads"], `{"stages":[
		{"stage":"captured","count":1,"conversion_rate":null},
		{"stage":"contacted","count":0,"conversion_rate":0},
		{"stage":"qualified","count":0,"conversion_rate":null},
		{"stage":"converted","count":0,"conversion_rate":null}]}`)
	wantJSON(t, "funnel from 2027-01-08 opportunities", late["opportunities"], `{"stages":[
		{"stage":"prospecting","count":2,"conversion_rate":null,"avg_days_in_stage":0.5},
		{"stage":"qualification","count":1,"conversion_rate":0.5,"avg_days_in_stage":null},
		{"stage":"proposal","count":0,"conversion_rate":0,"avg_days_in_stage":null},
		{"stage":"negotiation","count":0,"conversion_rate":null,"avg_days_in_stage":null},
		{"stage":"closed_won","count":0,"conversion_rate":null}],
		"won":0,"lost":0,"win_rate":null}`)

	// By source: deals opened without a lead have no source (key null):
	// OB, OC, OD. OA came from L1 (webinar).
	bySource := getJSON(t, e, "manager", "/v1/reports/funnel?group_by=source&"+q).(map[string]any)
	groups := bySource["groups"].([]any)
	var keys []any
	for _, g := range groups {
		keys = append(keys, g.(map[string]any)["key"])
	}
	wantJSON(t, "source keys", keys, `[null,"ads","referral","webinar"]`)
	wantJSON(t, "no-source deals", groups[0].(map[string]any)["opportunities"], `{"stages":[
		{"stage":"prospecting","count":3,"conversion_rate":null,"avg_days_in_stage":1.25},
		{"stage":"qualification","count":2,"conversion_rate":0.6667,"avg_days_in_stage":null},
		{"stage":"proposal","count":1,"conversion_rate":0.5,"avg_days_in_stage":3},
		{"stage":"negotiation","count":0,"conversion_rate":0,"avg_days_in_stage":null},
		{"stage":"closed_won","count":0,"conversion_rate":null}],
		"won":0,"lost":1,"win_rate":0}`)
	wantJSON(t, "webinar leads", groups[3].(map[string]any)["leads"], `{"stages":[
		{"stage":"captured","count":2,"conversion_rate":null},
		{"stage":"contacted","count":2,"conversion_rate":1},
		{"stage":"qualified","count":2,"conversion_rate":1},
		{"stage":"converted","count":2,"conversion_rate":1}]}`)
	wantJSON(t, "webinar deals won", groups[3].(map[string]any)["opportunities"].(map[string]any)["win_rate"], `1`)
	byOwner := getJSON(t, e, "manager", "/v1/reports/funnel?group_by=owner&"+q).(map[string]any)
	var ownerKeys []any
	for _, g := range byOwner["groups"].([]any) {
		ownerKeys = append(ownerKeys, g.(map[string]any)["key"])
	}
	wantJSON(t, "owner keys", ownerKeys, `["`+ownerA+`","`+ownerB+`"]`)

	// Pipeline: the open deals are OC (USD 500, prospecting 10 %) and OD
	// (EUR 300.25, qualification 30 % -> 90.075).
	pipeline := getJSON(t, e, "analyst", "/v1/reports/pipeline?"+q)
	wantJSON(t, "pipeline", pipeline, `{
		"stages":[
			{"stage":"prospecting","currency":"EUR","probability":10,"count":0,"amount":"0.00","weighted_amount":"0.00"},
			{"stage":"qualification","currency":"EUR","probability":30,"count":1,"amount":"300.25","weighted_amount":"90.075"},
			{"stage":"proposal","currency":"EUR","probability":60,"count":0,"amount":"0.00","weighted_amount":"0.00"},
			{"stage":"negotiation","currency":"EUR","probability":80,"count":0,"amount":"0.00","weighted_amount":"0.00"},
			{"stage":"prospecting","currency":"USD","probability":10,"count":1,"amount":"500.00","weighted_amount":"50.00"},
			{"stage":"qualification","currency":"USD","probability":30,"count":0,"amount":"0.00","weighted_amount":"0.00"},
			{"stage":"proposal","currency":"USD","probability":60,"count":0,"amount":"0.00","weighted_amount":"0.00"},
			{"stage":"negotiation","currency":"USD","probability":80,"count":0,"amount":"0.00","weighted_amount":"0.00"}],
		"by_close_month":[
			{"month":"2027-02","currency":"USD","count":1,"amount":"500.00","weighted_amount":"50.00"},
			{"month":"2027-03","currency":"EUR","count":1,"amount":"300.25","weighted_amount":"90.075"}],
		"totals":[
			{"currency":"EUR","count":1,"amount":"300.25","weighted_amount":"90.075"},
			{"currency":"USD","count":1,"amount":"500.00","weighted_amount":"50.00"}]}`)

	// Dashboard. Sales: OA won (EUR 1000.00, opened T0+3 d, won T0+10 d:
	// 7 d cycle), OB lost. Service: K3 (normal) and K4 (low) open; K2
	// breached both targets; first responses 1800 + 18000 + 3600 s over
	// 3 = 7800 s; resolutions 7200 + 172800 s over 2 = 90000 s;
	// satisfaction (5 + 3) / 2 = 4.
	dash := getJSON(t, e, "manager", "/v1/reports/dashboard?"+q)
	wantJSON(t, "dashboard", dash, `{"range":{"from":null,"to":null},
		"sales":{"open_count":2,
			"open_pipeline":[{"currency":"EUR","amount":"300.25"},{"currency":"USD","amount":"500.00"}],
			"weighted_pipeline":[{"currency":"EUR","amount":"90.075"},{"currency":"USD","amount":"50.00"}],
			"won_count":1,"won_amount":[{"currency":"EUR","amount":"1000.00"}],"lost_count":1,"win_rate":0.5,
			"average_deal_size":[{"currency":"EUR","amount":"1000.00"}],"average_sales_cycle_days":7},
		"service":{"open_tickets":2,"open_by_priority":{"urgent":0,"high":0,"normal":1,"low":1},
			"tickets_opened":4,"sla_breaches":{"first_response":1,"resolution":1,"tickets":1},
			"average_first_response_seconds":7800,"average_resolution_seconds":90000,
			"average_satisfaction":4,"satisfaction_responses":2,"tickets_resolved_with_article":0},
		"receivables":{"date":"2027-01-06","currencies":[]}}`)

	// From T0+9 d the lost deal (closed T0+8 d) and every ticket drop
	// out; the open pipeline is the current one whatever the period.
	later := getJSON(t, e, "manager", "/v1/reports/dashboard?from=2027-01-13T09:00:00Z&"+q).(map[string]any)
	wantJSON(t, "dashboard from T0+9d sales", later["sales"], `{"open_count":2,
			"open_pipeline":[{"currency":"EUR","amount":"300.25"},{"currency":"USD","amount":"500.00"}],
			"weighted_pipeline":[{"currency":"EUR","amount":"90.075"},{"currency":"USD","amount":"50.00"}],
			"won_count":1,"won_amount":[{"currency":"EUR","amount":"1000.00"}],"lost_count":0,"win_rate":1,
			"average_deal_size":[{"currency":"EUR","amount":"1000.00"}],"average_sales_cycle_days":7}`)
	wantJSON(t, "dashboard from T0+9d tickets", later["service"].(map[string]any)["tickets_opened"], `0`)
}

func TestReportsRefuseBadInput(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ url, field string }{
		{"/v1/reports/funnel?group_by=region", "group_by"},
		{"/v1/reports/funnel?from=yesterday", "from"},
		{"/v1/reports/funnel?to=2027-13-01", "to"},
		{"/v1/reports/funnel?from=2027-02-01&to=2027-01-01", "to"},
		{"/v1/reports/dashboard?from=2027-01-01T00:00:00", "from"},
		{"/v1/reports/pipeline?min_position=zz", "min_position"},
	} {
		r := e.must(400, e.do("manager", "GET", c.url, nil))
		if !problemNames(r, c.field) {
			t.Errorf("%s: problem does not name %s: %s", c.url, c.field, r.raw)
		}
	}
	for _, role := range []string{"sales", "support", "auditor"} {
		e.must(403, e.do(role, "GET", "/v1/reports/funnel", nil))
	}
	e.must(401, e.do("nobody", "GET", "/v1/reports/pipeline", nil))
	empty := getJSON(t, e, "analyst", "/v1/reports/pipeline")
	wantJSON(t, "empty pipeline", empty, `{"stages":[],"by_close_month":[],"totals":[]}`)
}

// problemNames reports whether a problem+json body names field in errors.
func problemNames(r response, field string) bool {
	errs, _ := r.body["errors"].([]any)
	for _, e := range errs {
		if m, ok := e.(map[string]any); ok && m["field"] == field {
			return true
		}
	}
	return false
}

// TestFunnelCountsReopenedDeals: closed_won counts the deals won now; a
// won deal that is reopened and then lost counts up to the furthest open
// stage it reached.
func TestFunnelCountsReopenedDeals(t *testing.T) {
	e := newEnv(t)
	lead := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "reopen@example.com"))).str("id")
	e.must(200, e.do("sales", "POST", "/v1/leads/"+lead+"/qualify", `{}`))
	conv := e.must(200, e.do("sales", "POST", "/v1/leads/"+lead+"/convert", `{}`))
	opp := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+conv.str("account_id")+
		`","name":"R","amount":"10","currency":"EUR","expected_close_date":"2027-01-01"}`)).str("id")
	e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/stage", `{"stage":"qualification"}`))
	pos := e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/stage", `{"stage":"closed_won"}`)).str("position")
	stages := func(pos string) string {
		f := getJSON(t, e, "manager", "/v1/reports/funnel?min_position="+pos).(map[string]any)["opportunities"].(map[string]any)
		var out string
		for _, s := range f["stages"].([]any) {
			out += fmt.Sprintf("%v ", s.(map[string]any)["count"])
		}
		return fmt.Sprintf("%swon=%v lost=%v", out, f["won"], f["lost"])
	}
	if got := stages(pos); got != "1 1 1 1 1 won=1 lost=0" {
		t.Errorf("won: %s", got)
	}
	pos = e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/reopen", `{"reason":"customer came back"}`)).str("position")
	if got := stages(pos); got != "1 1 0 0 0 won=0 lost=0" {
		t.Errorf("reopened: %s", got)
	}
	pos = e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/stage", `{"stage":"closed_lost","reason":"price"}`)).str("position")
	if got := stages(pos); got != "1 1 0 0 0 won=0 lost=1" {
		t.Errorf("lost after reopening: %s", got)
	}
}
