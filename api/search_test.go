package api_test

import (
	"net/http"
	"slices"
	"testing"
)

func TestSearchAcrossRecords(t *testing.T) {
	e := newEnv(t)
	leadID := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("name", "Ada Lovelace", "company", "Engines Ltd",
		"email", "ada@engines.example"))).str("id")
	e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/contact-attempts", map[string]any{"channel": "call", "outcome": "reached"}))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/qualify", map[string]any{}))
	conv := e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/convert", map[string]any{
		"opportunity": map[string]any{"name": "Ada's engines 2027", "amount": "125000.00", "currency": "EUR", "expected_close_date": "2027-03-31"}}))
	e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("name", "Charles Babbage", "company", "Difference Ltd",
		"email", "charles@difference.example")))
	pos := e.must(201, e.do("support", "POST", "/v1/tickets", map[string]any{"subject": "Ada cannot log in", "priority": "high",
		"channel": "email", "account_id": conv.str("account_id")})).str("position")

	search := func(role, query string) []map[string]any {
		t.Helper()
		r := e.must(http.StatusOK, e.do(role, http.MethodGet, "/v1/search?"+query+"&min_position="+pos, nil))
		var out []map[string]any
		for _, it := range r.body["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	kinds := func(hits []map[string]any) []string {
		var out []string
		for _, h := range hits {
			out = append(out, h["type"].(string))
		}
		slices.Sort(out)
		return out
	}
	// Everything named after Ada: the lead, the contact and the
	// opportunity its conversion made, and the ticket (the account is
	// named after the company).
	hits := search("admin", "q=ada")
	if got := kinds(hits); !slices.Equal(got, []string{"contact", "lead", "opportunity", "ticket"}) {
		t.Fatalf("admin search for ada: %v", hits)
	}
	for _, h := range hits {
		if h["id"] == "" || h["title"] == "" || h["updated_at"] == "" || h["match"] == "" {
			t.Errorf("hit without id, title, match or time: %v", h)
		}
	}
	// Ranking: a field equal to the query first, then one starting with
	// it, then one containing it.
	e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("name", "Grenada Trading", "email", "g@grenada.example")))
	pos = e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("name", "Ada", "email", "ada2@example.com"))).str("position")
	hits = search("admin", "q=ada")
	if len(hits) != 6 || hits[0]["title"] != "Ada" || hits[5]["title"] != "Grenada Trading" {
		t.Errorf("ranked hits for ada: %v", hits)
	}
	// A role sees only what it may list: support gets no leads or deals.
	if got := kinds(search("support", "q=ada")); !slices.Equal(got, []string{"contact", "ticket"}) {
		t.Errorf("support search for ada: %v", got)
	}
	if got := kinds(search("sales", "q=ada&types=lead")); !slices.Equal(got, []string{"lead", "lead", "lead"}) {
		t.Errorf("sales search for ada leads: %v", got)
	}
	if hits := search("admin", "q=ada&limit=1"); len(hits) != 1 {
		t.Errorf("limit=1: %d hits", len(hits))
	}
	if hits := search("admin", "q=nobody-by-that-name"); len(hits) != 0 {
		t.Errorf("no match: %v", hits)
	}
	e.must(http.StatusForbidden, e.do("sales", http.MethodGet, "/v1/search?q=ada&types=ticket", nil))
	for query, field := range map[string]string{"": "q", "q=%20": "q", "q=ada&types=person": "types", "q=ada&limit=0": "limit",
		"q=ada&limit=101": "limit"} {
		r := e.must(http.StatusBadRequest, e.do("admin", http.MethodGet, "/v1/search?"+query, nil))
		if errs, _ := r.body["errors"].([]any); len(errs) == 0 || errs[0].(map[string]any)["field"] != field {
			t.Errorf("%q: %s, want a 400 naming %s", query, r.raw, field)
		}
	}
}
