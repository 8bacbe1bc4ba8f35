package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// requestEntries reads the whole request audit as the auditor, following
// next_cursor with pages of limit entries.
func requestEntries(t *testing.T, e *env, query string, limit int) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		u := fmt.Sprintf("/v1/audit/requests?limit=%d%s", limit, query)
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		r := e.must(200, e.do("auditor", "GET", u, nil))
		for _, it := range r.body["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
}

func TestRequestAuditRecordsCommandsAndRefusals(t *testing.T) {
	e := newEnv(t)
	lead := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "req@example.com"),
		"X-Correlation-ID", "corr-accepted")).str("id")
	e.must(401, e.do("", "POST", "/v1/leads", leadWith("email", "anon@example.com"), "X-Correlation-ID", "corr-anonymous"))
	e.must(401, e.do("", "GET", "/v1/leads", nil))
	e.must(403, e.do("sales", "POST", "/v1/tickets", `{"subject":"x","priority":"low","channel":"email"}`,
		"X-Correlation-ID", "corr-forbidden"))
	e.must(403, e.do("auditor", "POST", "/v1/leads/"+lead+"/qualify", `{}`))
	e.must(400, e.do("sales", "POST", "/v1/leads/"+lead+"/qualify", `{"nope":1}`))
	e.must(403, e.do("analyst", "GET", "/v1/keys", nil))
	e.must(200, e.do("sales", "GET", "/v1/leads/"+lead, nil)) // an accepted read is not recorded

	entries := requestEntries(t, e, "", 500)
	type seen struct {
		method, route, actor, role string
		status                     int
	}
	var got []seen
	for _, it := range entries {
		got = append(got, seen{it["method"].(string), it["route"].(string), it["actor"].(string), it["role"].(string),
			int(it["status"].(float64))})
	}
	want := []seen{
		{"POST", "/v1/leads", e.actors["sales"], "sales", 201},
		{"POST", "/v1/leads", "", "", 401},
		{"GET", "/v1/leads", "", "", 401},
		{"POST", "/v1/tickets", e.actors["sales"], "sales", 403},
		{"POST", "/v1/leads/{id}/qualify", e.actors["auditor"], "auditor", 403},
		{"POST", "/v1/leads/{id}/qualify", e.actors["sales"], "sales", 400},
		{"GET", "/v1/keys", e.actors["analyst"], "analyst", 403},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("request audit:\n got  %v\n want %v", got, want)
	}
	first := entries[0]
	if first["correlation_id"] != "corr-accepted" || first["key_id"] == "" || first["path"] != "/v1/leads" || first["at"] == "" {
		t.Errorf("accepted command entry: %v", first)
	}
	if entries[1]["correlation_id"] != "corr-anonymous" || entries[1]["key_id"] != "" {
		t.Errorf("anonymous entry: %v", entries[1])
	}
	if p := entries[4]["path"].(string); !strings.HasSuffix(p, "/"+lead+"/qualify") {
		t.Errorf("path %q", p)
	}

	// Filters and pagination.
	if n := len(requestEntries(t, e, "&status=403", 1)); n != 3 {
		t.Errorf("%d entries with status 403, want 3", n)
	}
	if n := len(requestEntries(t, e, "&actor="+url.QueryEscape(e.actors["sales"]), 2)); n != 3 {
		t.Errorf("%d entries by %s, want 3", n, e.actors["sales"])
	}
	if n := len(requestEntries(t, e, "&from=2000-01-01&to=2001-01-01", 50)); n != 0 {
		t.Errorf("%d entries in 2000, want 0", n)
	}
	for _, c := range []struct{ q, field string }{
		{"status=abc", "status"}, {"status=42", "status"}, {"from=yesterday", "from"}, {"cursor=x", "cursor"},
		{"limit=0", "limit"}, {"actor=" + strings.Repeat("a", 201), "actor"},
	} {
		r := e.must(400, e.do("auditor", "GET", "/v1/audit/requests?"+c.q, nil))
		if !problemNames(r, c.field) {
			t.Errorf("%s: problem does not name %s: %s", c.q, c.field, r.raw)
		}
	}

	// Only admins and auditors read it; the auditor's reads are allowed
	// and so are not recorded, the refused ones are.
	e.must(200, e.do("admin", "GET", "/v1/audit/requests", nil))
	for _, role := range []string{"manager", "sales", "support", "analyst"} {
		e.must(403, e.do(role, "GET", "/v1/audit/requests", nil))
	}
	if n := len(requestEntries(t, e, "&status=403", 500)); n != 7 {
		t.Errorf("%d refused entries after the role checks, want 7", n)
	}

	// Paths and parameters that PostgreSQL text cannot hold neither break
	// the audit nor crash the server.
	e.must(401, e.do("", "POST", "/v1/leads/%ff", `{}`))
	e.must(401, e.do("", "DELETE", "/v1/keys/%00", nil))
	e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "after@example.com")))
	all := requestEntries(t, e, "", 500)
	tail := all[len(all)-3:]
	if tail[0]["status"] != 401.0 || tail[1]["status"] != 401.0 || tail[2]["status"] != 201.0 ||
		tail[0]["path"] != "/v1/leads/\ufffd" || tail[1]["path"] != "/v1/keys/" {
		t.Errorf("entries after unstorable paths: %v", tail)
	}
	for _, q := range []string{"actor=%ff", "actor=%00"} {
		r := e.must(400, e.do("auditor", "GET", "/v1/audit/requests?"+q, nil))
		if !problemNames(r, "actor") {
			t.Errorf("%s: problem does not name actor: %s", q, r.raw)
		}
	}

	// Append-only, like the event log.
	for _, stmt := range []string{`UPDATE crm_request_log SET status = 200`, `DELETE FROM crm_request_log`, `TRUNCATE crm_request_log`} {
		if _, err := e.pool.Exec(context.Background(), stmt); err == nil {
			t.Errorf("%s succeeded", stmt)
		}
	}
}
