package api_test

import (
	"bytes"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crm/internal/embeddedpg"
)

// pgDump runs the real pg_dump (next to the PostgreSQL binaries the
// embedded server uses) on the test database, with extra arguments.
func pgDump(t *testing.T, e *env, args ...string) []byte {
	t.Helper()
	dir, err := embeddedpg.FindBinaries()
	if err != nil {
		t.Skip("no PostgreSQL binaries: ", err)
	}
	cmd := exec.Command(filepath.Join(dir, "pg_dump"), append([]string{"--no-owner", "-d", e.pool.Config().ConnString()}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump: %v: %s", err, stderr.String())
	}
	if len(out) < 100 {
		t.Fatalf("pg_dump wrote almost nothing: %q", out)
	}
	return out
}

// secrets are the personal values of the erasure scenario; each must be
// unique enough that finding it anywhere means it leaked.
var secrets = []string{"Wilhelmina Quarterstaff", "wilhelmina.q@privacy-test.example", "+44 20 7946 0999",
	"prefers calls after the school run", "birthday surprise for Wilhelmina", "her daughter's recital"}

// leaks returns the secrets found in b.
func leaks(b []byte) []string {
	var out []string
	for _, s := range secrets {
		if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(s))) {
			out = append(out, s)
		}
	}
	return out
}

// TestErasure: personal data never reaches the event table in plaintext;
// the export shows it all while the key exists; erasure crypto-shreds it:
// by-id reads (now and as of the past), history, lists, search, the audit
// timeline and its exports, the event feed and rebuilt read models read
// "[erased]", a pg_dump of the whole database contains none of it, the
// chain still verifies, and the email is free again.
func TestErasure(t *testing.T) {
	e := newEnv(t)
	lead := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("name", secrets[0], "email", strings.ToUpper(secrets[1][:1])+secrets[1][1:],
		"phone", secrets[2], "company", "Engines Ltd")))
	leadID := lead.str("id")
	time.Sleep(10 * time.Millisecond)
	past := time.Now().UTC().Format(time.RFC3339Nano) // the lead as captured
	e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/contact-attempts", map[string]any{"channel": "call", "outcome": "reached", "note": secrets[3]}))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/activities", map[string]any{"kind": "note", "subject": secrets[4], "body": secrets[5]}))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/qualify", map[string]any{"note": "budget confirmed"}))
	conv := e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/convert", map[string]any{}))
	contactID, accountID := conv.str("contact_id"), conv.str("account_id")
	pos := conv.str("position")

	// Before erasure: the read models serve plaintext, the events table
	// holds none.
	if got := e.must(200, e.do("sales", "GET", "/v1/leads?q=quarterstaff&min_position="+pos, nil)); len(got.body["items"].([]any)) != 1 {
		t.Fatalf("search before erasure: %s", got.raw)
	}
	if l := leaks(pgDump(t, e, "--data-only", "-t", "crm_events")); len(l) > 0 {
		t.Errorf("the events table holds plaintext before erasure: %q", l)
	}
	if l := leaks(pgDump(t, e, "--data-only", "-t", "crm_claims")); len(l) > 0 {
		t.Errorf("the email reservations hold plaintext: %q", l)
	}
	if l := leaks(pgDump(t, e)); len(l) == 0 {
		t.Error("the whole database holds no personal value before erasure; the scenario checks nothing")
	}
	x := e.must(200, e.do("auditor", "GET", "/v1/privacy/export?email="+secrets[1], nil))
	if l := leaks(x.raw); len(l) != len(secrets) {
		t.Errorf("the export shows %d of %d personal values: %s", len(l), len(secrets), x.raw)
	}
	if x.str("subject_id") == "" || len(x.body["leads"].([]any)) != 1 || len(x.body["contacts"].([]any)) != 1 {
		t.Errorf("export: %s", x.raw)
	}

	// Only an admin erases; bad input is named.
	e.must(403, e.do("auditor", "POST", "/v1/privacy/erasure", map[string]any{"email": secrets[1]}))
	e.must(403, e.do("manager", "POST", "/v1/privacy/erasure", map[string]any{"email": secrets[1]}))
	e.must(403, e.do("sales", "GET", "/v1/privacy/export?email="+secrets[1], nil))
	for _, bad := range []any{map[string]any{}, map[string]any{"email": "not-an-email"}, map[string]any{"email": 7}, map[string]any{"email": secrets[1], "x": 1}} {
		if r := e.do("admin", "POST", "/v1/privacy/erasure", bad); r.status != 400 || !strings.Contains(string(r.raw), "email") && !strings.Contains(string(r.raw), `"x"`) {
			t.Errorf("erasure %v: %d %s", bad, r.status, r.raw)
		}
	}
	e.must(400, e.do("admin", "GET", "/v1/privacy/export", nil))
	e.must(404, e.do("admin", "POST", "/v1/privacy/erasure", map[string]any{"email": "nobody@privacy-test.example"}))

	events := e.eventCount()
	er := e.must(200, e.do("admin", "POST", "/v1/privacy/erasure", map[string]any{"email": secrets[1]}))
	if er.str("subject_id") != x.str("subject_id") || len(er.body["erased"].([]any)) != 2 || e.eventCount() != events+1 {
		t.Fatalf("erasure: %s", er.raw)
	}
	// A second erasure finds nothing to erase.
	e.must(404, e.do("admin", "POST", "/v1/privacy/erasure", map[string]any{"email": secrets[1]}))
	e.must(404, e.do("admin", "GET", "/v1/privacy/export?email="+secrets[1], nil))
	pos = er.str("position")

	check := func(when string) {
		t.Helper()
		reads := map[string]string{
			"lead":          "/v1/leads/" + leadID,
			"lead as of":    "/v1/leads/" + leadID + "?as_of=" + past,
			"history":       "/v1/leads/" + leadID + "/history",
			"contact":       "/v1/contacts/" + contactID,
			"account":       "/v1/accounts/" + accountID,
			"lead list":     "/v1/leads?min_position=" + pos,
			"contact list":  "/v1/contacts?min_position=" + pos,
			"audit":         "/v1/audit?limit=500&min_position=" + pos,
			"audit csv":     "/v1/audit?format=csv&min_position=" + pos,
			"audit ndjson":  "/v1/audit?format=ndjson&min_position=" + pos,
			"event feed":    "/v1/events?limit=500",
			"lead audit":    "/v1/audit?entity_id=" + leadID + "&min_position=" + pos,
			"contact audit": "/v1/audit?entity_id=" + contactID + "&min_position=" + pos,
		}
		for name, path := range reads {
			r := e.must(200, e.do("admin", "GET", path, nil))
			if l := leaks(r.raw); len(l) > 0 {
				t.Errorf("%s: %s shows %q", when, name, l)
			}
			if bytes.Contains(r.raw, []byte("enc:v1:")) {
				t.Errorf("%s: %s shows ciphertext", when, name)
			}
			if name != "account" && name != "event feed" && !bytes.Contains(r.raw, []byte("[erased]")) {
				t.Errorf("%s: %s does not say [erased]: %s", when, name, r.raw)
			}
		}
		for _, q := range []string{"quarterstaff", "wilhelmina", "7946"} {
			if r := e.must(200, e.do("admin", "GET", "/v1/leads?q="+q+"&min_position="+pos, nil)); len(r.body["items"].([]any)) != 0 {
				t.Errorf("%s: search %q finds the erased lead: %s", when, q, r.raw)
			}
		}
		lead := e.must(200, e.do("admin", "GET", "/v1/leads/"+leadID, nil)).body
		if lead["name"] != "[erased]" || lead["email"] != "[erased]" || lead["phone"] != "[erased]" || lead["company"] != "Engines Ltd" {
			t.Errorf("%s: lead %v", when, lead)
		}
		// The audit entries stay, one per event.
		if n := len(e.must(200, e.do("auditor", "GET", "/v1/audit?entity_id="+leadID+"&min_position="+pos, nil)).body["items"].([]any)); n != 5 {
			t.Errorf("%s: %d audit entries of the lead, want 5", when, n)
		}
		if l := leaks(pgDump(t, e)); len(l) > 0 {
			t.Errorf("%s: a pg_dump of the whole database holds %q", when, l)
		}
		v := e.must(200, e.do("auditor", "GET", "/v1/audit/verify", nil))
		if v.body["ok"] != true {
			t.Errorf("%s: verification: %s", when, v.raw)
		}
	}
	check("after erasure")
	before := map[string][]byte{}
	for _, path := range []string{"/v1/leads", "/v1/contacts", "/v1/audit?format=ndjson"} {
		before[path] = e.must(200, e.do("admin", "GET", path, nil)).raw
	}
	names := e.engine.Names()
	for _, name := range names {
		e.must(202, e.do("admin", "POST", "/v1/projections/"+name+"/rebuild", nil))
	}
	waitRebuilt(t, e, len(names))
	check("after rebuilding every read model")
	for path, want := range before {
		if got := e.must(200, e.do("admin", "GET", path, nil)).raw; !bytes.Equal(got, want) {
			t.Errorf("%s differs after the rebuild:\nbefore %s\nafter  %s", path, want, got)
		}
	}

	// The email is free again, for a new subject.
	again := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", secrets[1])))
	x2 := e.must(200, e.do("admin", "GET", "/v1/privacy/export?email="+secrets[1], nil))
	if x2.str("subject_id") == x.str("subject_id") || len(x2.body["leads"].([]any)) != 1 || !strings.Contains(string(x2.raw), again.str("id")) {
		t.Errorf("export after re-capture: %s", x2.raw)
	}
	// The erasure is a command like any other: in the request audit with
	// its actor.
	ra := e.must(200, e.do("auditor", "GET", "/v1/audit/requests?actor="+url.QueryEscape(e.actors["admin"]), nil))
	if !strings.Contains(string(ra.raw), "/v1/privacy/erasure") {
		t.Errorf("request audit: %s", ra.raw)
	}
}
