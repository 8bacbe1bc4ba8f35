package api_test

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// fieldsOf returns the fields a problem's errors[] names, sorted.
func fieldsOf(r response) []string {
	errs, _ := r.body["errors"].([]any)
	var out []string
	for _, fe := range errs {
		m, _ := fe.(map[string]any)
		f, _ := m["field"].(string)
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// TestEveryInvalidFieldInOne400: a body wrong in many places is answered
// with one 400 whose errors[] names each field, and stores nothing.
func TestEveryInvalidFieldInOne400(t *testing.T) {
	e := newEnv(t)
	before := e.eventCount()
	r := e.must(400, e.do("sales", "POST", "/v1/leads", `{"name":"","email":"not an email","phone":7,"region":"`+strings.Repeat("x", 201)+`","nickname":"x"}`))
	want := []string{"company", "email", "name", "nickname", "phone", "region", "source"}
	if got := fieldsOf(r); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("errors name %v, want %v: %s", got, want, r.raw)
	}
	r = e.must(400, e.do("sales", "POST", "/v1/opportunities", `{"amount":12.5,"currency":"euro","expected_close_date":"2027-02-30"}`))
	want = []string{"account_id", "amount", "currency", "expected_close_date", "name"}
	if got := fieldsOf(r); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("errors name %v, want %v: %s", got, want, r.raw)
	}
	if e.eventCount() != before {
		t.Fatal("refused requests stored events")
	}
}

// TestPayloadBeforeState: a bad value on a record whose state would
// refuse the command anyway is a 400 naming the value, not a 409.
func TestPayloadBeforeState(t *testing.T) {
	e := newEnv(t)
	id := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "converted@example.com"))).str("id")
	e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/contact-attempts", `{"channel":"call","outcome":"reached"}`))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/qualify", `{}`))
	conv := e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/convert", `{"opportunity":{"name":"Deal","amount":"10.00","currency":"EUR","expected_close_date":"2027-01-31"}}`))
	oppID := conv.str("opportunity_id")
	e.must(200, e.do("sales", "POST", "/v1/opportunities/"+oppID+"/stage", `{"stage":"closed_won"}`))
	before := e.eventCount()
	r := e.must(400, e.do("sales", "POST", "/v1/leads/"+id+"/contact-attempts", `{"channel":"fax","outcome":"reached"}`))
	if got := fieldsOf(r); len(got) != 1 || got[0] != "channel" {
		t.Fatalf("converted lead, bad channel: %s", r.raw)
	}
	e.must(409, e.do("sales", "POST", "/v1/leads/"+id+"/contact-attempts", `{"channel":"call","outcome":"reached"}`))
	r = e.must(400, e.do("sales", "POST", "/v1/opportunities/"+oppID+"/stage", `{"stage":"closed_lost"}`))
	if got := fieldsOf(r); len(got) != 1 || got[0] != "reason" {
		t.Fatalf("closed deal, lost without reason: %s", r.raw)
	}
	if e.eventCount() != before {
		t.Fatal("refused requests stored events")
	}
}

// TestMalformedJSONNamesThePosition: malformed JSON is a 400 whose
// errors[] names the body and the byte where it breaks.
func TestMalformedJSONNamesThePosition(t *testing.T) {
	e := newEnv(t)
	r := e.must(400, e.do("sales", "POST", "/v1/leads", `{"name": "Ada",, "company": "x"}`))
	errs, _ := r.body["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("errors: %s", r.raw)
	}
	fe := errs[0].(map[string]any)
	if fe["field"] != "(body)" || !strings.Contains(fe["message"].(string), "at byte 16") {
		t.Fatalf("malformed JSON error does not name its position: %s", r.raw)
	}
}

// TestUnknownQueryParametersOnEveryGET sends two made-up query parameters
// to every GET route the document declares: each answers 400 naming both.
func TestUnknownQueryParametersOnEveryGET(t *testing.T) {
	e := newEnvAutomations(t)
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	n := 0
	for tpl, ops := range doc.Paths {
		if _, ok := ops["get"]; !ok {
			continue
		}
		path := param.ReplaceAllString(tpl, "0190a0a0-0000-7000-8000-000000000000")
		r := e.do("admin", "GET", path+"?limit=5&colour=blue&sort_by_mood=1", nil)
		if r.status != 400 {
			// limit is not a parameter of every route: then it is named too.
			t.Errorf("GET %s with unknown parameters: %d %s", tpl, r.status, r.raw)
			continue
		}
		got := strings.Join(fieldsOf(r), ",")
		if !strings.Contains(got, "colour") || !strings.Contains(got, "sort_by_mood") {
			t.Errorf("GET %s: errors name %s, want colour and sort_by_mood", tpl, got)
		}
		n++
	}
	if n < 30 {
		t.Fatalf("only %d GET routes checked", n)
	}
}
