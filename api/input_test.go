package api_test

import (
	"strings"
	"testing"

	"crm/internal/app"
	"crm/workflows/webhooks"
)

// newEnvAutomations is newEnv with the automation and webhook routes
// (nothing runs in the background; webhooks may name loopback).
func newEnvAutomations(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, func(c *app.Config) {
		c.Workflows = &app.WorkflowsConfig{Webhooks: webhooks.Options{Guard: webhooks.AllowLoopbackInTests(webhooks.Guard{AllowPrivate: true})}}
	})
}

// TestUnstorableOrAmbiguousInputIsRefused sends what PostgreSQL text
// cannot store (NUL, invalid UTF-8), field names that only match when case
// is ignored, duplicate keys and out-of-range cursors to every route that
// takes free text: each is a 400 problem naming the field, never a 5xx,
// and stores nothing.
func TestUnstorableOrAmbiguousInputIsRefused(t *testing.T) {
	e := newEnvAutomations(t)
	hook := `"url":"http://127.0.0.1:9/hook","events":["*"]`
	secret := `"secret":"0123456789abcdef"`
	report := `"table":"CREATE TABLE t (n bigint)","handlers":{"lead.captured.v1":"INSERT INTO t VALUES (1)"}`
	ticket := e.must(201, e.do("support", "POST", "/v1/tickets", `{"subject":"s","priority":"low","channel":"web"}`)).str("id")
	hookID := e.must(201, e.do("admin", "POST", "/v1/webhooks", `{`+hook+`,`+secret+`}`)).str("id")
	huge := func(major, minor string) string { return major + minor }
	for _, c := range []struct {
		name, method, path, body, field string
	}{
		{"key name with NUL", "POST", "/v1/keys", `{"name":"ops\u0000","role":"sales"}`, "name"},
		{"key name not UTF-8", "POST", "/v1/keys", "{\"name\":\"ops\xff\",\"role\":\"sales\"}", "name"},
		{"key field in capitals", "POST", "/v1/keys", `{"NAME":"ops","role":"sales"}`, "NAME"},
		{"key field title-cased", "POST", "/v1/keys", `{"name":"ops","Role":"admin"}`, "Role"},
		{"key name twice", "POST", "/v1/keys", `{"name":"a","name":"b","role":"sales"}`, "name"},
		{"role twice", "POST", "/v1/keys", `{"name":"a","role":"sales","role":"admin"}`, "role"},
		{"webhook secret with NUL", "POST", "/v1/webhooks", `{` + hook + `,"secret":"0123456789abcdef\u0000"}`, "secret"},
		{"webhook url with NUL", "POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9/\u0000","events":["*"],` + secret + `}`, "url"},
		{"webhook event with NUL", "POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9/","events":["a\u0000"],` + secret + `}`, "events[0]"},
		{"webhook field in capitals", "POST", "/v1/webhooks", `{"URL":"http://127.0.0.1:9/","events":["*"],` + secret + `}`, "URL"},
		{"webhook secret twice", "POST", "/v1/webhooks", `{` + hook + `,` + secret + `,` + secret + `}`, "secret"},
		{"assignment owner with NUL", "PUT", "/v1/automation/assignment", `{"rules":[{"owners":["ann\u0000"]}]}`, "rules[0].owners[0]"},
		{"assignment default owner not UTF-8", "PUT", "/v1/automation/assignment", "{\"default_owners\":[\"\xc3\"]}", "default_owners[0]"},
		{"assignment region with NUL", "PUT", "/v1/automation/assignment", `{"rules":[{"region":"EU\u0000","owners":["a"]}]}`, "rules[0].region"},
		{"assignment field title-cased", "PUT", "/v1/automation/assignment", `{"Default_Owners":["a"]}`, "Default_Owners"},
		{"assignment rules twice", "PUT", "/v1/automation/assignment", `{"rules":[],"rules":[]}`, "rules"},
		{"sla field in capitals", "PUT", "/v1/automation/sla", `{"low":{"FIRST_RESPONSE_SECONDS":60,"resolution_seconds":60}}`, "low.FIRST_RESPONSE_SECONDS"},
		{"approval threshold twice", "PUT", "/v1/automation/approvals", `{"threshold":"1","currency":"EUR","threshold":"900000000"}`, "threshold"},
		{"report name with NUL", "POST", "/v1/reports/custom", `{"name":"r\u0000",` + report + `}`, "name"},
		{"report handler with NUL", "POST", "/v1/reports/custom", `{"name":"r",` + strings.Replace(report, "(1)", "(1)\\u0000", 1) + `}`, "handlers.lead.captured.v1"},
		{"report field in capitals", "POST", "/v1/reports/custom", `{"Name":"r",` + report + `}`, "Name"},
		{"report name twice", "POST", "/v1/reports/custom", `{"name":"r","name":"s",` + report + `}`, "name"},
		{"lead field title-cased", "POST", "/v1/leads", `{"Name":"a","company":"c","email":"t@example.com","source":"web"}`, "Name"},
		{"lead email twice", "POST", "/v1/leads", `{"name":"a","company":"c","email":"t@example.com","email":"u@example.com","source":"web"}`, "email"},
		{"nested field in capitals", "POST", "/v1/leads/" + ticket + "/convert", `{"opportunity":{"NAME":"d"}}`, "opportunity.NAME"},
		{"report path with NUL", "GET", "/v1/reports/custom/r%00", "", "path"},
		{"report drop with NUL", "DELETE", "/v1/reports/custom/%00", "", "path"},
		{"report rebuild not UTF-8", "POST", "/v1/reports/custom/r%ff/rebuild", "", "path"},
		{"report rows cursor with NUL", "GET", "/v1/reports/custom/r?cursor=%00", "", "cursor"},
		{"audit actor with NUL", "GET", "/v1/audit?actor=key:%00", "", "actor"},
		{"request audit actor not UTF-8", "GET", "/v1/audit/requests?actor=%ff", "", "actor"},
		{"deliveries cursor with NUL", "GET", "/v1/webhooks/" + hookID + "/deliveries?cursor=%00", "", "cursor"},
		{"dead letters cursor not UTF-8", "GET", "/v1/automation/dead-letters?cursor=%fe", "", "cursor"},
		{"feed cursor low half 2^63", "GET", "/v1/events?after=" + huge("0000000000000001", "8000000000000000"), "", "after"},
		{"feed cursor low half max", "GET", "/v1/events?after=" + huge("ffffffffffffffff", "ffffffffffffffff"), "", "after"},
		{"feed cursor not hex", "GET", "/v1/events?after=" + strings.Repeat("g", 32), "", "after"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.eventCount()
			var body any
			if c.body != "" {
				body = c.body
			}
			r := e.do("admin", c.method, c.path, body)
			if r.status != 400 {
				t.Fatalf("%s %s: status %d, want 400: %s", c.method, c.path, r.status, r.raw)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			if !problemNames(r, c.field) {
				t.Errorf("problem does not name %s: %s", c.field, r.raw)
			}
			if after := e.eventCount(); after != before {
				t.Errorf("the refused request stored %d events", after-before)
			}
		})
	}
	// Nothing refused was stored on the side either.
	keys := e.must(200, e.do("admin", "GET", "/v1/keys", nil))
	if items, _ := keys.body["items"].([]any); len(items) != 6 {
		t.Errorf("%d keys after the refusals, want the 6 of the harness", len(items))
	}
	hooks := e.must(200, e.do("admin", "GET", "/v1/webhooks", nil))
	if items, _ := hooks.body["items"].([]any); len(items) != 1 {
		t.Errorf("%d webhooks after the refusals, want 1", len(items))
	}
	reports := e.must(200, e.do("admin", "GET", "/v1/reports/custom", nil))
	if items, _ := reports.body["items"].([]any); len(items) != 0 {
		t.Errorf("%d custom reports after the refusals, want none", len(items))
	}
}

// TestBodiesMustBeJSON: only application/json, optionally with
// charset=utf-8, is a JSON body; anything else is 415 naming
// Content-Type. A command without a body needs no content type.
func TestBodiesMustBeJSON(t *testing.T) {
	e := newEnv(t)
	lead := func(email string) string {
		return `{"name":"a","company":"c","email":"` + email + `","source":"web"}`
	}
	for i, ct := range []string{"", "text/plain", "application/merge-patch+json", "application/problem+json", "text/json",
		"application/json; charset=latin1", "application/json; charset=utf-16", "application/json; boundary=x"} {
		r := e.do("sales", "POST", "/v1/leads", lead("ct"+string(rune('a'+i))+"@example.com"), "Content-Type", ct)
		if r.status != 415 || !problemNames(r, "Content-Type") {
			t.Errorf("Content-Type %q: %d %s, want 415 naming Content-Type", ct, r.status, r.raw)
		}
	}
	for i, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", `application/json; charset="utf-8"`} {
		e.must(201, e.do("sales", "POST", "/v1/leads", lead("ok"+string(rune('a'+i))+"@example.com"), "Content-Type", ct))
	}
	ticket := e.must(201, e.do("support", "POST", "/v1/tickets", `{"subject":"s","priority":"low","channel":"web"}`)).str("id")
	// Without a body the content type does not matter: the command runs
	// and is refused for its own reason.
	if r := e.do("support", "POST", "/v1/tickets/"+ticket+"/close", nil); r.status != 409 || r.str("code") != "ticket_not_resolved" {
		t.Errorf("close without a body: %d %s", r.status, r.raw)
	}
}
