package api_test

import (
	"context"
	"testing"
)

// FuzzCommandBodies posts arbitrary bodies to command routes: the server
// must answer every one without a 5xx, and a refused request must store
// nothing.
func FuzzCommandBodies(f *testing.F) {
	e := newEnv(f)
	leadID := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "seed@example.com"))).str("id")
	accountID := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Acme"}`)).str("id")
	ticketID := e.must(201, e.do("support", "POST", "/v1/tickets", `{"subject":"s","priority":"low","channel":"web"}`)).str("id")
	campaignID := e.must(201, e.do("sales", "POST", "/v1/campaigns", `{"name":"c","channel":"ads","start_date":"2027-01-01","budget":"1","currency":"EUR"}`)).str("id")
	token := e.must(201, e.do("admin", "POST", "/v1/webforms", `{"name":"f","fields":["phone","message"]}`)).str("token")
	paths := []string{
		"/v1/leads", "/v1/leads/" + leadID + "/convert", "/v1/leads/" + leadID + "/contact-attempts",
		"/v1/accounts/" + accountID + "/details", "/v1/accounts/" + accountID + "/contacts", "/v1/accounts/" + accountID + "/tags",
		"/v1/opportunities", "/v1/tickets/" + ticketID + "/satisfaction", "/v1/tickets", "/v1/leads/" + leadID + "/activities", "/v1/keys",
		"/v1/campaigns", "/v1/campaigns/" + campaignID + "/cost", "/v1/webforms", "/f/" + token, "/v1/imports", "/v1/segments",
		"/v1/articles", "/v1/tickets/" + ticketID + "/articles",
	}
	for _, seed := range []string{`{}`, `{"name":"a","company":"b","email":"c@d.ef","source":"x"}`, `{"opportunity":{"amount":"1e9"}}`,
		`{"add":["a","a"],"remove":["a"]}`, `{"score":0}`, `{"name":null}`, `{"due_at":"not a time","kind":"task","subject":"s"}`,
		"{\"name\":\"\\u0000\"}", `{"amount":"00.1","currency":"eur"}`, `[]`, `nul`, `{"a":1}{"b":2}`,
		`{"NAME":"a","company":"b","email":"c@d.ef","source":"x"}`, `{"name":"a","name":"b"}`, "{\"name\":\"\xff\"}",
		"{\"\xc3\":1}", `{"opportunity":{"Name":"d"}}`, `{"tags":["\u0000"]}`, `{"add":["a"],"add":["b"]}`,
		`{"note":"\ud800"}`, `{"":1}`, `{"name":"a\u0000b","company":"b","email":"c@d.ef","source":"x"}`,
		`{"kind":"leads","csv":"name,email\n\"x"}`, `{"kind":"accounts","csv":"name\n\u0000"}`, `{"entity":"leads","filter":{"score_min":-1e99}}`,
		`{"actual_cost":"1.00001","currency":"EUR"}`, `{"title":"t","body":"\u767b\u5f55","tags":[""]}`} {
		for i := range paths {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		e.t = t
		path := paths[int(route)%len(paths)]
		role := "admin"
		before := e.eventCount()
		var claims int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_claims`).Scan(&claims)
		r := e.do(role, "POST", path, body)
		if r.status >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, r.status, r.raw)
		}
		if r.status >= 400 {
			if after := e.eventCount(); after != before {
				t.Fatalf("refused POST %s %q stored %d events", path, body, after-before)
			}
			var after int
			_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_claims`).Scan(&after)
			if after != claims {
				t.Fatalf("refused POST %s %q changed claims", path, body)
			}
		}
	})
}
