package api_test

import (
	"strconv"
	"testing"
	"time"

	"crm/internal/app"
	"crm/workflows/webhooks"
)

// TestVersionSurvivesScoring: the version a command returns stays valid
// while the scoring automation scores the lead; the score lands on the
// lead's by-id read without moving its version or ETag.
func TestVersionSurvivesScoring(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) {
		c.Workflows = &app.WorkflowsConfig{Run: true, Webhooks: webhooks.Options{Guard: webhooks.AllowLoopbackInTests(webhooks.Guard{AllowPrivate: true})}}
	})
	created := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "score@example.com", "source", "referral", "phone", "+44 20 7946 0000")))
	id := created.str("id")
	attempt := e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/contact-attempts", map[string]any{"channel": "call", "outcome": "reached"}))
	version := int64(attempt.body["version"].(float64))
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := e.must(200, e.do("sales", "GET", "/v1/leads/"+id, nil))
		if r.body["score"].(float64) == 30+15+5+5+20 {
			if got := int64(r.body["version"].(float64)); got != version {
				t.Fatalf("scored lead at version %d, want the command's %d", got, version)
			}
			if r.header.Get("ETag") != `"`+strconv.FormatInt(version, 10)+`"` {
				t.Fatalf("ETag %s, want %d", r.header.Get("ETag"), version)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead never scored: %s", r.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/qualify", map[string]any{}, "If-Match", `"`+strconv.FormatInt(version, 10)+`"`))
}

// TestStaleIfMatchNamesTheCurrentVersion: a 412 carries the version the
// record is at, in the body and in ETag, and stores nothing.
func TestStaleIfMatchNamesTheCurrentVersion(t *testing.T) {
	e := newEnv(t)
	id := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "stale@example.com"))).str("id")
	e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/contact-attempts", map[string]any{"channel": "call", "outcome": "reached"}))
	before := e.eventCount()
	r := e.must(412, e.do("sales", "POST", "/v1/leads/"+id+"/qualify", map[string]any{}, "If-Match", `"1"`))
	if r.body["current_version"] != float64(2) || r.header.Get("ETag") != `"2"` || r.str("code") != "stale_version" {
		t.Fatalf("412 without the current version: %s (ETag %s)", r.raw, r.header.Get("ETag"))
	}
	if e.eventCount() != before {
		t.Fatal("a refused command stored events")
	}
	e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/qualify", map[string]any{}, "If-Match", r.header.Get("ETag")))
}
