package api_test

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"crm/commands"
	"crm/internal/app"
	"crm/readmodels"
	"crm/workflows"
	"crm/workflows/scheduler"
)

// newEnvCash is newEnv with the automations and the deadline scheduler
// running on clock, which the commands and the live reports share.
// A nil clock is the wall clock.
func newEnvCash(t *testing.T, clock *testClock) *env {
	t.Helper()
	return newEnvWith(t, func(c *app.Config) {
		c.Workflows = &app.WorkflowsConfig{Run: true,
			Backbone:  workflows.Options{MaxRetries: 2, RetryInterval: 10 * time.Millisecond},
			Scheduler: scheduler.Options{PollInterval: 20 * time.Millisecond}}
		if clock != nil {
			c.Clock, c.Workflows.Clock = clock.Now, clock
		}
	})
}

// eventually polls get until ok accepts its answer (10 s at most).
func (e *env) eventually(what string, get func() response, ok func(response) bool) response {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := get()
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: never happened; last answer %d: %s", what, r.status, r.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jsonAt decodes a response body into v.
func jsonAt(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.raw, v); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}

// cashCatalog creates two products and a price book pricing them in EUR:
// LIC-1 at 1000.00 and SUP-1 at 200.00. It returns the price book's id
// and the two products' ids.
func cashCatalog(t *testing.T, e *env) (book, licence, support string) {
	t.Helper()
	licence = e.must(201, e.do("manager", "POST", "/v1/products", `{"sku":"LIC-1","name":"Engine licence","unit":"seat"}`)).str("id")
	support = e.must(201, e.do("manager", "POST", "/v1/products", `{"sku":"SUP-1","name":"Support","unit":"month"}`)).str("id")
	book = e.must(201, e.do("manager", "POST", "/v1/price-books", `{"name":"Standard 2027"}`)).str("id")
	e.must(200, e.do("manager", "POST", "/v1/price-books/"+book+"/prices", `{"product_id":"`+licence+`","price":"1000.00","currency":"EUR"}`))
	e.must(200, e.do("manager", "POST", "/v1/price-books/"+book+"/prices", `{"product_id":"`+support+`","price":"200.00","currency":"EUR"}`))
	return book, licence, support
}

// TestLeadToCashScenario runs the whole way from an opportunity to cash
// over HTTP, on a controlled clock, and checks every figure against
// values computed by hand:
//
//   - quote v1: 10 × LIC-1 at 1000.00 less 25 % = 7500.00, plus 5 × SUP-1
//     at 200.00 = 1000.00; subtotal 11000.00, discount 2500.00, total
//     8500.00; three monthly installments from 2027-01-31:
//     8500.00 / 3 = 2833.33 (truncated), 2833.33, and 2833.34 (the
//     remainder) due 2027-01-31, 2027-02-28 (Jan 31 + 1 month, clamped)
//     and 2027-03-31;
//   - two payments of 2833.33; the third installment is 3 days overdue
//     on 2027-04-03 (reminder) and 10 days on 2027-04-10 (escalation);
//   - receivables on 2027-04-10: billed 8500.00, collected 5666.66,
//     outstanding and overdue 2833.34, all in the 1-30 bucket; DSO =
//     2833.34 / 8500.00 (billed in the 90 days to 2027-04-10) × 90 = 30.0;
//   - forecast 2027-Q1: ann's target 20000.00, won 8500.00 (2027-01-15),
//     commit 40000.00 (a negotiation deal closing 2027-02-28), forecast
//     48500.00, adjusted to 45000.00, attainment 8500/20000 = 42.50 %,
//     gap 11500.00; bob's target is his months' 3000 + 3000 + 4000 =
//     10000.00, pipeline 10000.00 (a prospecting deal closing
//     2027-03-20), attainment 0.00, gap 10000.00; the team: target
//     30000.00, attainment 8500/30000 = 28.33 %, gap 21500.00, adjusted
//     45000.00 + bob's submitted 0.00.
func TestLeadToCashScenario(t *testing.T) {
	clock := &testClock{now: time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)}
	e := newEnvCash(t, clock)
	// Ann's manager, whom her escalations go to through the directory.
	maria := e.user("Maria")
	ann := e.user("ann", "manager_id", maria)
	bob := e.owner("bob")
	book, licence, support := cashCatalog(t, e)

	account := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Engines Ltd"}`)).str("id")
	opp := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+account+`","name":"Engines 2027","amount":"5000.00",
		"currency":"EUR","expected_close_date":"2027-03-15","owner_id":"`+ann+`","stage":"proposal"}`)).str("id")
	fleet := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+account+`","name":"Fleet","amount":"40000.00",
		"currency":"EUR","expected_close_date":"2027-02-28","owner_id":"`+ann+`","stage":"negotiation"}`)).str("id")
	e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+account+`","name":"Spares","amount":"10000.00",
		"currency":"EUR","expected_close_date":"2027-03-20","owner_id":"`+bob+`"}`))

	// Quote v1 with a 25 % discount: above the 20 % threshold.
	quoteBody := `{"price_book_id":"` + book + `","currency":"EUR","valid_until":"2027-02-28",
		"lines":[{"product_id":"` + licence + `","quantity":"10","discount_percent":"25"},{"product_id":"` + support + `","quantity":"5"}],
		"payment_plan":{"kind":"installments","count":3,"first_due_date":"2027-01-31","interval_months":1}}`
	drafted := e.must(201, e.do("sales", "POST", "/v1/opportunities/"+opp+"/quotes", quoteBody))
	quote, approval := drafted.str("id"), drafted.str("approval_id")
	if approval == "" {
		t.Fatalf("a 25%% discount requested no approval: %s", drafted.raw)
	}
	q := e.must(200, e.do("sales", "GET", "/v1/quotes/"+quote, nil))
	var qv struct {
		Versions []struct {
			Total         string
			Lines         []map[string]string
			Approval      struct{ ID, Status string }
			Subtotal      string `json:"subtotal"`
			DiscountTotal string `json:"discount_total"`
		}
	}
	jsonAt(t, q, &qv)
	v1 := qv.Versions[0]
	if len(qv.Versions) != 1 || v1.Subtotal != "11000.00" || v1.DiscountTotal != "2500.00" || v1.Total != "8500.00" ||
		v1.Lines[0]["line_total"] != "7500.00" || v1.Lines[1]["line_total"] != "1000.00" || v1.Approval.ID != approval || v1.Approval.Status != "pending" {
		t.Fatalf("quote v1: %s", q.raw)
	}

	// Sending is refused until a manager approves; the refusal stores nothing.
	before := e.eventCount()
	refused := e.must(409, e.do("sales", "POST", "/v1/quotes/"+quote+"/send", nil))
	if refused.str("code") != "quote_approval_pending" || refused.str("conflicting_id") != approval {
		t.Fatalf("send before approval: %s", refused.raw)
	}
	e.must(403, e.do("sales", "POST", "/v1/quotes/"+quote+"/approvals/"+approval+"/approve", `{}`))
	e.must(409, e.do("sales", "POST", "/v1/quotes/"+quote+"/accept", nil))
	if n := e.eventCount(); n != before {
		t.Fatalf("refusals stored %d events", n-before)
	}
	e.must(200, e.do("manager", "POST", "/v1/quotes/"+quote+"/approvals/"+approval+"/approve", `{"note":"strategic account"}`))
	e.must(200, e.do("sales", "POST", "/v1/quotes/"+quote+"/send", nil))
	e.must(200, e.do("sales", "POST", "/v1/quotes/"+quote+"/accept", `{}`))
	o := e.must(200, e.do("sales", "GET", "/v1/opportunities/"+opp, nil))
	if o.str("amount") != "8500.00" || !strings.Contains(string(o.raw), `"accepted_quote":{"id":"`+quote+`","version":1}`) {
		t.Fatalf("accepting the quote did not set the amount: %s", o.raw)
	}

	// Winning the deal creates exactly one order with the quote's plan.
	clock.set(time.Date(2027, 1, 15, 10, 0, 0, 0, time.UTC))
	e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/stage", `{"stage":"closed_won"}`))
	order := e.eventually("the order", func() response { return e.do("sales", "GET", "/v1/opportunities/"+opp+"/order", nil) },
		func(r response) bool { return r.status == 200 })
	orderID := order.str("id")
	var ov struct {
		Total, Status, Outstanding string
		Installments               []struct {
			Number              int
			DueDate             string `json:"due_date"`
			Amount, Outstanding string
			Reminded, Escalated bool
		}
	}
	jsonAt(t, order, &ov)
	want := []string{"1 2027-01-31 2833.33", "2 2027-02-28 2833.33", "3 2027-03-31 2833.34"}
	var got []string
	for _, in := range ov.Installments {
		got = append(got, strings.Join([]string{strconv.Itoa(in.Number), in.DueDate, in.Amount}, " "))
	}
	if ov.Total != "8500.00" || !reflect.DeepEqual(got, want) {
		t.Fatalf("order: total %s, installments %v, want %v: %s", ov.Total, got, want, order.raw)
	}

	// Two payments; an overpayment is refused and stores nothing.
	clock.set(time.Date(2027, 1, 30, 12, 0, 0, 0, time.UTC))
	pay := func(amount, day string) response {
		return e.do("sales", "POST", "/v1/orders/"+orderID+"/payments", `{"amount":"`+amount+`","currency":"EUR","paid_on":"`+day+`","reference":"bank `+day+`"}`)
	}
	e.must(201, pay("2833.33", "2027-01-30"))
	clock.set(time.Date(2027, 2, 27, 12, 0, 0, 0, time.UTC))
	e.must(201, pay("2833.33", "2027-02-27"))
	before = e.streamCount("order-" + orderID)
	if r := e.must(409, pay("2833.35", "2027-02-27")); r.str("code") != "overpayment" {
		t.Fatalf("overpayment: %s", r.raw)
	}
	if e.streamCount("order-"+orderID) != before {
		t.Fatal("a refused payment stored events")
	}

	// The third installment goes overdue: a reminder 3 days after its due
	// date, an escalation 7 days after that.
	clock.set(time.Date(2027, 4, 2, 23, 0, 0, 0, time.UTC))
	time.Sleep(200 * time.Millisecond)
	if e.streamCount("order-"+orderID) != before {
		t.Fatal("a reminder came before the installment was 3 days overdue")
	}
	clock.set(time.Date(2027, 4, 3, 0, 0, 1, 0, time.UTC))
	e.eventually("the reminder", func() response { return e.do("sales", "GET", "/v1/orders/"+orderID+"/history", nil) },
		func(r response) bool { return strings.Contains(string(r.raw), "order.collection_reminded.v1") })
	clock.set(time.Date(2027, 4, 10, 0, 0, 1, 0, time.UTC))
	hist := e.eventually("the escalation", func() response { return e.do("sales", "GET", "/v1/orders/"+orderID+"/history", nil) },
		func(r response) bool { return strings.Contains(string(r.raw), "order.collection_escalated.v1") })
	var h struct {
		Items []struct {
			Type     string
			Data     map[string]any
			Metadata struct{ Actor string }
		}
	}
	jsonAt(t, hist, &h)
	var steps []string
	for _, it := range h.Items {
		if strings.HasPrefix(it.Type, "order.collection_") {
			steps = append(steps, it.Type+" "+it.Metadata.Actor+" "+it.Data["owner_id"].(string)+" installment "+
				strconv.Itoa(int(it.Data["installment"].(float64)))+" days "+strconv.Itoa(int(it.Data["days_overdue"].(float64)))+" "+it.Data["outstanding"].(string))
		}
	}
	wantSteps := []string{"order.collection_reminded.v1 automation:collections " + ann + " installment 3 days 3 2833.34",
		"order.collection_escalated.v1 automation:collections " + ann + " installment 3 days 10 2833.34"}
	if !reflect.DeepEqual(steps, wantSteps) {
		t.Fatalf("collection steps\n got %q\nwant %q", steps, wantSteps)
	}
	if !strings.Contains(string(hist.raw), `"manager_id":"`+maria+`"`) {
		t.Errorf("the escalation is not addressed to the owner's manager %s: %s", maria, hist.raw)
	}

	// Targets and a forecast adjustment.
	e.must(403, e.do("sales", "POST", "/v1/targets", `{"owner_id":"`+ann+`","period":"2027-Q1","amount":"20000.00","currency":"EUR"}`))
	e.must(201, e.do("manager", "POST", "/v1/targets", `{"owner_id":"`+ann+`","period":"2027-Q1","amount":"20000.00","currency":"EUR"}`))
	for m, a := range map[string]string{"2027-01": "3000.00", "2027-02": "3000.00", "2027-03": "4000.00"} {
		e.must(201, e.do("manager", "POST", "/v1/targets", `{"owner_id":"`+bob+`","period":"`+m+`","amount":"`+a+`","currency":"EUR"}`))
	}
	last := e.must(200, e.do("manager", "POST", "/v1/forecast-adjustments", `{"owner_id":"`+ann+`","period":"2027-Q1","amount":"45000.00",
		"currency":"EUR","reason":"Fleet may slip into April"}`)).str("position")

	rec := e.must(200, e.do("analyst", "GET", "/v1/reports/receivables?min_position="+last, nil))
	wantRec := `{"date":"2027-04-10","currencies":[{"currency":"EUR","billed":"8500.00","collected":"5666.66","outstanding":"2833.34",` +
		`"overdue":"2833.34","aging":[{"bucket":"current","amount":"0.00"},{"bucket":"1-30","amount":"2833.34"},{"bucket":"31-60","amount":"0.00"},` +
		`{"bucket":"61-90","amount":"0.00"},{"bucket":"90+","amount":"0.00"}],"days_sales_outstanding":30}]}`
	if strings.TrimSpace(string(rec.raw)) != wantRec {
		t.Fatalf("receivables\n got %s\nwant %s", rec.raw, wantRec)
	}

	dash := e.must(200, e.do("analyst", "GET", "/v1/reports/dashboard?min_position="+last, nil))
	if !strings.Contains(string(dash.raw), `"receivables":`+wantRec+`,"position":"`) {
		t.Fatalf("the dashboard's receivables: %s", dash.raw)
	}
	fc := e.must(200, e.do("analyst", "GET", "/v1/reports/forecast?period=2027-Q1&group_by=owner&min_position="+last, nil))
	var f struct {
		Totals []map[string]any
		Groups []map[string]any
	}
	jsonAt(t, fc, &f)
	figures := func(m map[string]any) string {
		var parts []string
		for _, k := range []string{"currency", "target", "closed_won", "commit", "best_case", "pipeline", "forecast", "adjusted_forecast", "attainment_percent", "gap_to_target"} {
			v, _ := json.Marshal(m[k])
			parts = append(parts, k+"="+string(v))
		}
		return strings.Join(parts, " ")
	}
	wantAnn := `currency="EUR" target="20000.00" closed_won="8500.00" commit="40000.00" best_case="0.00" pipeline="0.00" forecast="48500.00" adjusted_forecast="45000.00" attainment_percent="42.50" gap_to_target="11500.00"`
	wantBob := `currency="EUR" target="10000.00" closed_won="0.00" commit="0.00" best_case="0.00" pipeline="10000.00" forecast="0.00" adjusted_forecast=null attainment_percent="0.00" gap_to_target="10000.00"`
	wantTeam := `currency="EUR" target="30000.00" closed_won="8500.00" commit="40000.00" best_case="0.00" pipeline="10000.00" forecast="48500.00" adjusted_forecast="45000.00" attainment_percent="28.33" gap_to_target="21500.00"`
	groups := map[string]string{}
	for _, g := range f.Groups {
		groups[g["owner_id"].(string)] = figures(g)
	}
	if len(f.Totals) != 1 || figures(f.Totals[0]) != wantTeam || groups[ann] != wantAnn || groups[bob] != wantBob || len(groups) != 2 {
		t.Fatalf("forecast:\n team %v\n ann %s\n bob %s\nwant\n team %s\n ann %s\n bob %s\n%s", f.Totals, groups[ann], groups[bob], wantTeam, wantAnn, wantBob, fc.raw)
	}
	if !strings.Contains(string(fc.raw), `"reason":"Fleet may slip into April"`) {
		t.Fatalf("the adjustment's reason is missing: %s", fc.raw)
	}

	// A rebuild from the log gives byte-identical reports.
	reports := []string{"/v1/reports/receivables", "/v1/reports/forecast?period=2027-Q1&group_by=owner", "/v1/reports/forecast?period=2027-02",
		"/v1/reports/pipeline", "/v1/reports/dashboard"}
	before2 := map[string]string{}
	for _, path := range reports {
		before2[path] = string(e.must(200, e.do("analyst", "GET", path, nil)).raw)
	}
	for _, name := range []string{readmodels.CashProjector, readmodels.ReportsProjector} {
		if err := e.engine.Rebuild(t.Context(), name, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range reports {
		if got := string(e.must(200, e.do("analyst", "GET", path, nil)).raw); got != before2[path] {
			t.Errorf("%s after a rebuild:\n got %s\nwant %s", path, got, before2[path])
		}
	}

	// The remaining lead-to-cash events: a revision whose discount is
	// rejected, a deactivated product, a cancelled order.
	quote2 := e.must(201, e.do("sales", "POST", "/v1/opportunities/"+fleet+"/quotes", strings.NewReplacer(`"25"`, `"10"`, "2027-02-28", "2027-06-30").Replace(quoteBody))).str("id")
	revised := e.must(200, e.do("sales", "POST", "/v1/quotes/"+quote2+"/revisions", strings.NewReplacer(`"25"`, `"30"`, "2027-02-28", "2027-06-30").Replace(quoteBody)))
	e.must(200, e.do("manager", "POST", "/v1/quotes/"+quote2+"/approvals/"+revised.str("approval_id")+"/reject", `{"reason":"30 % is too much"}`))
	if r := e.must(409, e.do("sales", "POST", "/v1/quotes/"+quote2+"/send", nil)); r.str("code") != "quote_approval_rejected" {
		t.Fatalf("send after rejection: %s", r.raw)
	}
	q2 := e.must(200, e.do("sales", "GET", "/v1/quotes/"+quote2, nil))
	if !strings.Contains(string(q2.raw), `"current_version":2`) || !strings.Contains(string(q2.raw), `"status":"superseded"`) {
		t.Fatalf("quote versions: %s", q2.raw)
	}
	e.must(200, e.do("manager", "POST", "/v1/products/"+support+"/activation", `{"active":false}`))
	e.must(200, e.do("sales", "POST", "/v1/orders/"+orderID+"/cancel", `{"reason":"customer insolvent"}`))
	if r := e.must(409, pay("1.00", "2027-04-10")); r.str("code") != "order_cancelled" {
		t.Fatalf("a payment on a cancelled order: %s", r.raw)
	}

	// Every lead-to-cash event is in the audit, with field-level changes.
	pos := e.must(201, e.do("manager", "POST", "/v1/targets", `{"owner_id":"`+ann+`","period":"2027-Q2","amount":"1.00","currency":"EUR"}`)).str("position")
	cashTypes := []string{"product.created.v1", "product.activation_changed.v1", "price_book.created.v1", "price_book.price_set.v1",
		"quote.drafted.v1", "quote.revised.v1", "quote.approval_requested.v1", "quote.approval_granted.v1", "quote.approval_rejected.v1",
		"quote.sent.v1", "quote.accepted.v1", "opportunity.quote_accepted.v1", "order.created.v1", "order.payment_recorded.v1",
		"order.cancelled.v1", "order.collection_reminded.v1", "order.collection_escalated.v1", "sales_target.set.v1", "forecast.adjusted.v1"}
	seen := map[string]bool{}
	for _, entry := range auditItems(t, e.must(200, e.do("auditor", "GET", "/v1/audit?limit=500&min_position="+pos, nil))) {
		if !slices.Contains(cashTypes, entry.EventType) {
			continue
		}
		if entry.EntityType == "" || entry.EntityID == "" || entry.Summary == "" {
			t.Errorf("%s: entity %q %q, summary %q", entry.EventType, entry.EntityType, entry.EntityID, entry.Summary)
		}
		if len(entry.Changes) == 0 {
			t.Errorf("%s has no field changes", entry.EventType)
		}
		seen[entry.EventType] = true
	}
	for _, typ := range cashTypes {
		if !seen[typ] {
			t.Errorf("no audit entry of %s", typ)
		}
	}
	audit := e.must(200, e.do("auditor", "GET", "/v1/audit?entity_type=order&entity_id="+orderID, nil))
	for _, want := range []string{`{"field":"installments.3.amount","from":null,"to":"2833.34"}`, `{"field":"installments.1.paid","from":null,"to":"2833.33"}`,
		`{"field":"installments.3.escalated","from":false,"to":true}`, `{"field":"status","from":"open","to":"cancelled"}`} {
		if !strings.Contains(string(audit.raw), want) {
			t.Errorf("the order's audit lacks %s: %s", want, audit.raw)
		}
	}
}

// wonDeal drafts, sends and accepts a quote of 10 × LIC-1 at discount on
// a new opportunity of owner, with plan (a JSON payment plan), wins it and
// waits for its order. It returns the opportunity's and the order's ids.
func wonDeal(t *testing.T, e *env, book, licence, owner, discount, validUntil, plan string) (opp, order string) {
	t.Helper()
	account := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Won Co"}`)).str("id")
	opp = e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+account+`","name":"Deal","amount":"1.00",
		"currency":"EUR","expected_close_date":"`+validUntil+`","owner_id":"`+owner+`","stage":"proposal"}`)).str("id")
	quote := e.must(201, e.do("sales", "POST", "/v1/opportunities/"+opp+"/quotes", `{"price_book_id":"`+book+`","currency":"EUR",
		"valid_until":"`+validUntil+`","lines":[{"product_id":"`+licence+`","quantity":"10","discount_percent":"`+discount+`"}],"payment_plan":`+plan+`}`)).str("id")
	e.must(200, e.do("sales", "POST", "/v1/quotes/"+quote+"/send", nil))
	e.must(200, e.do("sales", "POST", "/v1/quotes/"+quote+"/accept", nil))
	e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/stage", `{"stage":"closed_won"}`))
	r := e.eventually("the order", func() response { return e.do("sales", "GET", "/v1/opportunities/"+opp+"/order", nil) },
		func(r response) bool { return r.status == 200 })
	return opp, r.str("id")
}

// TestLeadToCashRefusalsStoreNothing sends bad and refused lead-to-cash
// requests: each gets its problem (naming the field or a code) and the
// log does not grow.
func TestLeadToCashRefusalsStoreNothing(t *testing.T) {
	clock := &testClock{now: time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)}
	e := newEnvCash(t, clock)
	book, licence, support := cashCatalog(t, e)
	ann := e.owner("ann")
	opp, order := wonDeal(t, e, book, licence, ann, "10", "2027-02-28", `{"kind":"single","first_due_date":"2027-02-10"}`)
	account := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Open Co"}`)).str("id")
	open := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+account+`","name":"Open","amount":"1.00",
		"currency":"EUR","expected_close_date":"2027-03-31","owner_id":"`+ann+`"}`)).str("id")
	draft := e.must(201, e.do("sales", "POST", "/v1/opportunities/"+open+"/quotes", `{"price_book_id":"`+book+`","currency":"EUR",
		"valid_until":"2027-02-28","lines":[{"product_id":"`+licence+`","quantity":"1"}]}`)).str("id")
	e.must(200, e.do("manager", "POST", "/v1/products/"+support+"/activation", `{"active":false}`))
	missing := "0190a0a0-0000-7000-8000-000000000000"
	line := func(kv string) string {
		return `{"price_book_id":"` + book + `","currency":"EUR","valid_until":"2027-02-28","lines":[{"product_id":"` + licence + `",` + kv + `}]}`
	}
	cases := []struct {
		role, method, path, body string
		status                   int
		field, code              string
	}{
		{"sales", "POST", "/v1/products", `{"sku":"X-1","name":"X"}`, 403, "", "forbidden"},
		{"manager", "POST", "/v1/products", `{"sku":"bad sku","name":"X"}`, 400, "sku", ""},
		{"manager", "POST", "/v1/products", `{"sku":"X-1"}`, 400, "name", ""},
		{"manager", "POST", "/v1/products", `{"sku":"X-1","name":"X","colour":"red"}`, 400, "colour", ""},
		{"manager", "POST", "/v1/price-books/" + book + "/prices", `{"product_id":"` + licence + `","price":"10.005","currency":"EUR"}`, 400, "price", ""},
		{"manager", "POST", "/v1/price-books/" + book + "/prices", `{"product_id":"` + licence + `","price":"10","currency":"eur"}`, 400, "currency", ""},
		{"manager", "POST", "/v1/price-books/" + book + "/prices", `{"product_id":"` + missing + `","price":"10","currency":"EUR"}`, 400, "product_id", ""},
		{"manager", "POST", "/v1/price-books/" + missing + "/prices", `{"product_id":"` + licence + `","price":"10","currency":"EUR"}`, 404, "", "not_found"},
		{"manager", "POST", "/v1/products/" + licence + "/activation", `{}`, 400, "active", ""},
		{"sales", "POST", "/v1/opportunities/" + open + "/quotes", line(`"quantity":"-1"`), 400, "lines[0].quantity", ""},
		{"sales", "POST", "/v1/opportunities/" + open + "/quotes", line(`"quantity":"1","discount_percent":"101"`), 400, "lines[0].discount_percent", ""},
		{"sales", "POST", "/v1/opportunities/" + open + "/quotes", line(`"quantity":1`), 400, "lines.quantity", ""},
		{"sales", "POST", "/v1/opportunities/" + open + "/quotes", strings.Replace(line(`"quantity":"1"`), "2027-02-28", "2027-01-01", 1), 400, "valid_until", ""},
		{"sales", "POST", "/v1/opportunities/" + open + "/quotes", strings.Replace(line(`"quantity":"1"`), `"EUR"`, `"USD"`, 1), 400, "lines[0].product_id", ""},
		{"sales", "POST", "/v1/opportunities/" + open + "/quotes", strings.Replace(line(`"quantity":"1"`), licence, missing, 1), 400, "lines[0].product_id", ""},
		{"sales", "POST", "/v1/opportunities/" + open + "/quotes", strings.Replace(line(`"quantity":"1"`), "}]}",
			`}],"payment_plan":{"kind":"custom","installments":[{"due_date":"2027-03-01","amount":"999.99"}]}}`, 1), 400, "payment_plan.installments", ""},
		{"sales", "POST", "/v1/opportunities/" + open + "/quotes", strings.Replace(line(`"quantity":"1"`), "}]}",
			`}],"payment_plan":{"kind":"installments","count":1}}`, 1), 400, "payment_plan.count", ""},
		{"sales", "POST", "/v1/opportunities/" + open + "/quotes", strings.Replace(line(`"quantity":"1"`), licence, support, 1), 400, "lines[0].product_id", ""},
		{"sales", "POST", "/v1/opportunities/" + opp + "/quotes", line(`"quantity":"1"`), 409, "", "opportunity_closed"},
		{"sales", "POST", "/v1/opportunities/" + missing + "/quotes", line(`"quantity":"1"`), 404, "", "not_found"},
		{"sales", "POST", "/v1/quotes/" + draft + "/accept", ``, 409, "", "quote_not_sent"},
		{"sales", "POST", "/v1/quotes/" + missing + "/send", ``, 404, "", "not_found"},
		{"manager", "POST", "/v1/quotes/" + draft + "/approvals/" + missing + "/approve", `{}`, 404, "", "not_found"},
		{"sales", "POST", "/v1/orders/" + order + "/payments", `{"amount":"9000.01","currency":"EUR","paid_on":"2027-01-20"}`, 409, "", "overpayment"},
		{"sales", "POST", "/v1/orders/" + order + "/payments", `{"amount":"10.00","currency":"USD","paid_on":"2027-01-20"}`, 400, "currency", ""},
		{"sales", "POST", "/v1/orders/" + order + "/payments", `{"amount":"10.00","currency":"EUR","paid_on":"2027-02-30"}`, 400, "paid_on", ""},
		{"sales", "POST", "/v1/orders/" + order + "/payments", `{"amount":10,"currency":"EUR","paid_on":"2027-01-20"}`, 400, "amount", ""},
		{"sales", "POST", "/v1/orders/" + missing + "/payments", `{"amount":"10.00","currency":"EUR","paid_on":"2027-01-20"}`, 404, "", "not_found"},
		{"sales", "POST", "/v1/orders/" + order + "/cancel", `{}`, 400, "reason", ""},
		{"sales", "POST", "/v1/targets", `{"owner_id":"` + ann + `","period":"2027-Q1","amount":"1.00","currency":"EUR"}`, 403, "", "forbidden"},
		{"manager", "POST", "/v1/targets", `{"owner_id":"` + ann + `","period":"2027-Q5","amount":"1.00","currency":"EUR"}`, 400, "period", ""},
		{"manager", "POST", "/v1/targets", `{"owner_id":"` + ann + `","period":"2027-Q1","amount":"-1","currency":"EUR"}`, 400, "amount", ""},
		{"manager", "POST", "/v1/forecast-adjustments", `{"owner_id":"` + ann + `","period":"2027-Q1","amount":"1.00","currency":"EUR"}`, 400, "reason", ""},
		{"analyst", "GET", "/v1/reports/forecast", ``, 400, "period", ""},
		{"analyst", "GET", "/v1/reports/forecast?period=2027-Q1&group_by=source", ``, 400, "group_by", ""},
		{"analyst", "GET", "/v1/reports/receivables?as_of=yesterday", ``, 400, "as_of", ""},
		{"analyst", "GET", "/v1/reports/pipeline?as_of=yesterday", ``, 400, "as_of", ""},
		{"sales", "GET", "/v1/reports/receivables", ``, 403, "", "forbidden"},
	}
	// The order is made once: a redelivered command, or the deal reopened
	// and won again, makes no second order.
	orderEvents := e.streamCount("order-" + order)
	redo := commands.CreateOrder{OrderID: commands.OrderID(opp), OpportunityID: opp}
	redo.Metadata = commands.Metadata{Actor: "automation:order", CommandID: "c1", CorrelationID: "c1", CausationID: "c1"}
	if err := e.cmds.CreateOrder(t.Context(), &redo); err != nil || len(redo.Result.Events) != 0 {
		t.Fatalf("a redelivered order command: %v %+v", err, redo.Result)
	}
	e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/reopen", `{"reason":"scope change"}`))
	won := e.must(200, e.do("sales", "POST", "/v1/opportunities/"+opp+"/stage", `{"stage":"closed_won"}`)).str("position")
	e.must(200, e.do("analyst", "GET", "/v1/reports/receivables?min_position="+won, nil))
	time.Sleep(300 * time.Millisecond)
	if n := e.streamCount("order-" + order); n != orderEvents {
		t.Fatalf("winning again appended %d events to the order", n-orderEvents)
	}
	var orders int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM crm_events WHERE type = 'order.created.v1'`).Scan(&orders); err != nil || orders != 1 {
		t.Fatalf("%d orders (%v), want 1", orders, err)
	}

	// An idempotent retry of a draft replays its answer, approval id
	// included, and stores nothing.
	big := line(`"quantity":"2","discount_percent":"30"`)
	first := e.must(201, e.do("sales", "POST", "/v1/opportunities/"+open+"/quotes", big, "Idempotency-Key", "draft-1"))
	n := e.eventCount()
	again := e.must(201, e.do("sales", "POST", "/v1/opportunities/"+open+"/quotes", big, "Idempotency-Key", "draft-1"))
	if string(again.raw) != string(first.raw) || first.str("approval_id") == "" || e.eventCount() != n {
		t.Fatalf("replay:\n first %s\n again %s", first.raw, again.raw)
	}

	for _, c := range cases {
		before := e.eventCount()
		var body any
		if c.body != "" {
			body = c.body
		}
		r := e.do(c.role, c.method, c.path, body)
		if r.status != c.status {
			t.Errorf("%s %s %s: status %d, want %d: %s", c.role, c.method, c.path, r.status, c.status, r.raw)
			continue
		}
		if c.code != "" && c.code != "forbidden" && r.str("code") != c.code {
			t.Errorf("%s %s: code %q, want %q: %s", c.method, c.path, r.str("code"), c.code, r.raw)
		}
		// A field of a list element is named without its index here
		// (lines[0].quantity is lines.quantity).
		if c.field != "" && !strings.Contains(listIndex.ReplaceAllString(string(r.raw), ""), `"field":"`+listIndex.ReplaceAllString(c.field, "")+`"`) {
			t.Errorf("%s %s %s: the problem does not name %s: %s", c.method, c.path, c.body, c.field, r.raw)
		}
		if n := e.eventCount(); n != before {
			t.Errorf("%s %s %s stored %d events", c.method, c.path, c.body, n-before)
		}
	}
}

// TestLeadToCashAsOf takes the forecast, receivables and pipeline live at
// a moment, changes the books, and asks for them as of that moment: the
// answers, replayed from the log, are byte for byte the live snapshot.
func TestLeadToCashAsOf(t *testing.T) {
	e := newEnvCash(t, nil)
	book, licence, _ := cashCatalog(t, e)
	ann, bob := e.owner("ann"), e.owner("bob")
	today := time.Now().UTC()
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }
	quarter := today.Format("2006") + "-Q" + strconv.Itoa((int(today.Month())+2)/3)
	begin := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	_, order := wonDeal(t, e, book, licence, ann, "10", day(30), `{"kind":"custom","installments":[{"due_date":"`+day(-40)+
		`","amount":"3000.00"},{"due_date":"`+day(-5)+`","amount":"3000.00"},{"due_date":"`+day(20)+`","amount":"3000.00"}]}`)
	account := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Pipe Co"}`)).str("id")
	open := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+account+`","name":"Open","amount":"7000.00",
		"currency":"EUR","expected_close_date":"`+day(10)+`","owner_id":"`+bob+`","stage":"negotiation"}`)).str("id")
	e.must(201, e.do("sales", "POST", "/v1/orders/"+order+"/payments", `{"amount":"3000.00","currency":"EUR","paid_on":"`+day(-1)+`"}`))
	e.must(201, e.do("manager", "POST", "/v1/targets", `{"owner_id":"`+ann+`","period":"`+quarter+`","amount":"12000.00","currency":"EUR"}`))
	last := e.must(200, e.do("manager", "POST", "/v1/forecast-adjustments", `{"owner_id":"`+bob+`","period":"`+quarter+`","amount":"5000.00",
		"currency":"EUR","reason":"one deal at risk"}`)).str("position")

	reports := []string{"/v1/reports/receivables", "/v1/reports/forecast?period=" + quarter + "&group_by=owner", "/v1/reports/pipeline"}
	snapshot := map[string]string{}
	for _, path := range reports {
		// The live answer's position is the checkpoint it was read at; an
		// as_of answer, computed from the whole log, has none.
		snapshot[path] = reportPosition.ReplaceAllString(string(e.must(200, e.do("analyst", "GET", path+sep(path)+"min_position="+last, nil)).raw), "")
	}
	time.Sleep(20 * time.Millisecond)
	moment := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)

	// The books move on.
	e.must(201, e.do("sales", "POST", "/v1/orders/"+order+"/payments", `{"amount":"2000.00","currency":"EUR","paid_on":"`+day(0)+`"}`))
	e.must(200, e.do("sales", "POST", "/v1/opportunities/"+open+"/stage", `{"stage":"closed_lost","reason":"budget"}`))
	e.must(200, e.do("manager", "POST", "/v1/targets", `{"owner_id":"`+ann+`","period":"`+quarter+`","amount":"15000.00","currency":"EUR"}`))
	last = e.must(200, e.do("manager", "POST", "/v1/forecast-adjustments", `{"owner_id":"`+bob+`","period":"`+quarter+`","amount":"0.00",
		"currency":"EUR","reason":"lost"}`)).str("position")

	for _, path := range reports {
		live := string(e.must(200, e.do("analyst", "GET", path+sep(path)+"min_position="+last, nil)).raw)
		if live == snapshot[path] {
			t.Errorf("%s did not change after the moment; the test proves nothing", path)
		}
		then := string(e.must(200, e.do("analyst", "GET", path+sep(path)+"as_of="+moment.Format(time.RFC3339Nano), nil)).raw)
		if then != snapshot[path] {
			t.Errorf("%s as of the moment:\n got %s\nwant %s", path, then, snapshot[path])
		}
	}
	if !strings.Contains(snapshot["/v1/reports/receivables"], `"collected":"3000.00","outstanding":"6000.00","overdue":"3000.00"`) ||
		!strings.Contains(snapshot["/v1/reports/receivables"], `{"bucket":"1-30","amount":"3000.00"}`) {
		t.Errorf("snapshot receivables: %s", snapshot["/v1/reports/receivables"])
	}
	empty := string(e.must(200, e.do("analyst", "GET", "/v1/reports/receivables?as_of="+begin.Format(time.RFC3339Nano), nil)).raw)
	if !strings.Contains(empty, `"currencies":[]`) {
		t.Errorf("receivables before the first order: %s", empty)
	}
}

// sep is the separator that adds a query parameter to path.
func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// managerDirectory is a users directory that knows each user's manager.
type managerDirectory map[string]string

func (d managerDirectory) ManagerOf(_ context.Context, user string) (string, error) {
	return d[user], nil
}

// TestCollectionsFollowThePolicy runs the collections with other delays
// (1 day to the reminder, 2 more to the escalation) and a directory that
// names the owner's manager: the escalation is routed to that manager.
// reportPosition is the position member at the end of a report.
var reportPosition = regexp.MustCompile(`,"position":"[0-9a-f]*"`)

// listIndex is the index of a list element in a field name.
var listIndex = regexp.MustCompile(`\[\d+\]`)

func TestCollectionsFollowThePolicy(t *testing.T) {
	clock := &testClock{now: time.Date(2027, 5, 3, 9, 0, 0, 0, time.UTC)}
	managers := managerDirectory{}
	e := newEnvWith(t, func(c *app.Config) {
		c.Clock = clock.Now
		c.Workflows = &app.WorkflowsConfig{Run: true, Clock: clock,
			Backbone:    workflows.Options{MaxRetries: 2, RetryInterval: 10 * time.Millisecond},
			Scheduler:   scheduler.Options{PollInterval: 20 * time.Millisecond},
			Collections: workflows.CollectionPolicy{ReminderDays: 1, EscalationDays: 2, Managers: managers}}
	})
	ann, boss := e.owner("ann"), e.owner("boss")
	managers[ann] = boss
	book, licence, _ := cashCatalog(t, e)
	_, order := wonDeal(t, e, book, licence, ann, "0", "2027-05-31", `{"kind":"single","net_days":10}`)
	history := func() response { return e.do("sales", "GET", "/v1/orders/"+order+"/history", nil) }
	// Due 2027-05-13 (won 2027-05-03 + 10 days): reminded on the 14th,
	// escalated on the 16th.
	clock.set(time.Date(2027, 5, 13, 23, 59, 0, 0, time.UTC))
	time.Sleep(200 * time.Millisecond)
	if strings.Contains(string(history().raw), "collection_") {
		t.Fatalf("a collection step on the due date: %s", history().raw)
	}
	clock.set(time.Date(2027, 5, 14, 0, 0, 1, 0, time.UTC))
	e.eventually("the reminder", history, func(r response) bool { return strings.Contains(string(r.raw), "order.collection_reminded.v1") })
	clock.set(time.Date(2027, 5, 16, 0, 0, 1, 0, time.UTC))
	h := e.eventually("the escalation", history, func(r response) bool { return strings.Contains(string(r.raw), "order.collection_escalated.v1") })
	if !strings.Contains(string(h.raw), `"manager_id":"`+boss+`"`) || !strings.Contains(string(h.raw), `"days_overdue":3`) {
		t.Fatalf("the escalation is not routed to the manager: %s", h.raw)
	}
}
