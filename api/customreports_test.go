package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

var leadsBySource = map[string]any{
	"name":  "leads_by_source",
	"table": "CREATE TABLE leads_by_source (source text PRIMARY KEY, n int NOT NULL)",
	"handlers": map[string]string{"lead.captured.v1": "INSERT INTO leads_by_source VALUES (:data.source, 1) " +
		"ON CONFLICT (source) DO UPDATE SET n = leads_by_source.n + 1"},
	"until": nil,
}

// customReport waits until the named report has read the whole log and
// returns its status.
func (e *env) customReport(role, name string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res := e.must(http.StatusOK, e.do(role, http.MethodGet, "/v1/reports/custom", nil))
		for _, it := range res.body["items"].([]any) {
			st := it.(map[string]any)
			if st["name"] != name {
				continue
			}
			if st["state"] == "failed" || st["progress"].(map[string]any)["caught_up"] == true {
				return st
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("report %s did not catch up: %s", name, res.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCustomReportOverHTTP(t *testing.T) {
	e := newEnv(t)
	for i, src := range []string{"webinar", "referral", "webinar"} {
		e.must(http.StatusCreated, e.do("sales", http.MethodPost, "/v1/leads",
			leadWith("source", src, "email", "lead"+string(rune('a'+i))+"@example.com")))
	}
	// Who may define and read.
	for _, role := range []string{"sales", "support", "auditor", "manager"} {
		r := e.do(role, http.MethodPost, "/v1/reports/custom", leadsBySource)
		if r.status != http.StatusForbidden {
			t.Fatalf("%s defined a report: %d %s", role, r.status, r.raw)
		}
	}
	for _, role := range []string{"sales", "support", "auditor"} {
		for _, path := range []string{"/v1/reports/custom", "/v1/reports/custom/leads_by_source"} {
			if r := e.do(role, http.MethodGet, path, nil); r.status != http.StatusForbidden {
				t.Fatalf("%s read %s: %d", role, path, r.status)
			}
		}
	}
	created := e.must(http.StatusCreated, e.do("analyst", http.MethodPost, "/v1/reports/custom", leadsBySource))
	if created.str("name") != "leads_by_source" || created.header.Get("Location") != "/v1/reports/custom/leads_by_source" {
		t.Fatalf("created: %s", created.raw)
	}
	e.must(http.StatusConflict, e.do("admin", http.MethodPost, "/v1/reports/custom", leadsBySource))
	st := e.customReport("manager", "leads_by_source")
	if st["state"] != "running" || st["created_by"] != "key:analyst-key" {
		t.Fatalf("status: %v", st)
	}
	for _, role := range []string{"analyst", "manager", "admin"} {
		rows := e.must(http.StatusOK, e.do(role, http.MethodGet, "/v1/reports/custom/leads_by_source", nil))
		if got := string(rows.raw); !strings.Contains(got, `"items":[{"n":1,"source":"referral"},{"n":2,"source":"webinar"}]`) ||
			!strings.Contains(got, `"next_cursor":null`) {
			t.Fatalf("%s rows: %s", role, got)
		}
	}
	// Keyset pagination like the other lists.
	page := e.must(http.StatusOK, e.do("analyst", http.MethodGet, "/v1/reports/custom/leads_by_source?limit=1", nil))
	next := page.str("next_cursor")
	if next == "" || !strings.Contains(string(page.raw), `"source":"referral"`) {
		t.Fatalf("first page: %s", page.raw)
	}
	page = e.must(http.StatusOK, e.do("analyst", http.MethodGet, "/v1/reports/custom/leads_by_source?limit=1&cursor="+next, nil))
	if !strings.Contains(string(page.raw), `"items":[{"n":2,"source":"webinar"}],"next_cursor":null`) {
		t.Fatalf("second page: %s", page.raw)
	}
	for _, q := range []string{"?limit=0", "?cursor=bm90IGpzb24", "?table=nope"} {
		r := e.must(http.StatusBadRequest, e.do("analyst", http.MethodGet, "/v1/reports/custom/leads_by_source"+q, nil))
		if r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: %s", q, r.header.Get("Content-Type"))
		}
	}
	e.must(http.StatusNotFound, e.do("analyst", http.MethodGet, "/v1/reports/custom/nope", nil))

	// Refusals name the handler and create nothing.
	bad := map[string]any{"name": "escape", "table": "CREATE TABLE x (k text PRIMARY KEY)",
		"handlers": map[string]string{"lead.captured.v1": "DELETE FROM crm_events"}}
	r := e.must(http.StatusBadRequest, e.do("analyst", http.MethodPost, "/v1/reports/custom", bad))
	var problem struct {
		Errors []struct{ Field, Message string } `json:"errors"`
	}
	if err := json.Unmarshal(r.raw, &problem); err != nil || len(problem.Errors) != 1 || problem.Errors[0].Field != "handlers.lead.captured.v1" {
		t.Fatalf("refusal: %s", r.raw)
	}
	e.must(http.StatusBadRequest, e.do("analyst", http.MethodPost, "/v1/reports/custom", `{"name": "x", "tables": "y"}`))
	list := e.must(http.StatusOK, e.do("analyst", http.MethodGet, "/v1/reports/custom", nil))
	if n := len(list.body["items"].([]any)); n != 1 {
		t.Fatalf("refused definitions were kept: %s", list.raw)
	}

	// Point in time over HTTP: nothing was recorded before the first lead.
	then := map[string]any{"name": "before_leads", "table": leadsBySource["table"].(string),
		"handlers": leadsBySource["handlers"], "until": "2000-01-01T00:00:00Z"}
	then["table"] = strings.ReplaceAll(then["table"].(string), "leads_by_source", "before_leads")
	then["handlers"] = map[string]string{"lead.captured.v1": strings.ReplaceAll(leadsBySource["handlers"].(map[string]string)["lead.captured.v1"], "leads_by_source", "before_leads")}
	e.must(http.StatusCreated, e.do("admin", http.MethodPost, "/v1/reports/custom", then))
	if st := e.customReport("analyst", "before_leads"); st["state"] != "complete" {
		t.Fatalf("until report: %v", st)
	}
	if rows := e.must(http.StatusOK, e.do("analyst", http.MethodGet, "/v1/reports/custom/before_leads", nil)); !strings.Contains(string(rows.raw), `"items":[]`) {
		t.Fatalf("until rows: %s", rows.raw)
	}

	// Rebuild and drop: admin and analyst only.
	e.must(http.StatusForbidden, e.do("manager", http.MethodPost, "/v1/reports/custom/leads_by_source/rebuild", nil))
	e.must(http.StatusAccepted, e.do("analyst", http.MethodPost, "/v1/reports/custom/leads_by_source/rebuild", nil))
	e.customReport("analyst", "leads_by_source")
	e.must(http.StatusNotFound, e.do("analyst", http.MethodPost, "/v1/reports/custom/nope/rebuild", nil))
	e.must(http.StatusForbidden, e.do("manager", http.MethodDelete, "/v1/reports/custom/leads_by_source", nil))
	for _, name := range []string{"leads_by_source", "before_leads"} {
		e.must(http.StatusNoContent, e.do("analyst", http.MethodDelete, "/v1/reports/custom/"+name, nil))
	}
	e.must(http.StatusNotFound, e.do("analyst", http.MethodDelete, "/v1/reports/custom/leads_by_source", nil))
	e.must(http.StatusNotFound, e.do("analyst", http.MethodGet, "/v1/reports/custom/leads_by_source", nil))
}
