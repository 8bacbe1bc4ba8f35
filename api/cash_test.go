package api_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"crm/internal/app"
	"crm/workflows"
	"crm/workflows/scheduler"
)

// cashOwner returns the user id of a scenario's deal owner by name. It is
// the one place these tests name users.
func cashOwner(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("crm-test-user:"+name)).String()
}

// newEnvCash is newEnv with the automations and the deadline scheduler
// running on clock, which the commands and the live reports share.
func newEnvCash(t *testing.T, clock *testClock) *env {
	t.Helper()
	return newEnvWith(t, func(c *app.Config) {
		c.Clock = clock.Now
		c.Workflows = &app.WorkflowsConfig{Run: true, Clock: clock,
			Backbone:  workflows.Options{MaxRetries: 2, RetryInterval: 10 * time.Millisecond},
			Scheduler: scheduler.Options{PollInterval: 20 * time.Millisecond}}
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
	ann, bob := cashOwner("ann"), cashOwner("bob")
	book, licence, support := cashCatalog(t, e)

	account := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Engines Ltd"}`)).str("id")
	opp := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+account+`","name":"Engines 2027","amount":"5000.00",
		"currency":"EUR","expected_close_date":"2027-03-15","owner_id":"`+ann+`","stage":"proposal"}`)).str("id")
	e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+account+`","name":"Fleet","amount":"40000.00",
		"currency":"EUR","expected_close_date":"2027-02-28","owner_id":"`+ann+`","stage":"negotiation"}`))
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
}
