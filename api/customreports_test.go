package api_test

import (
	"context"
	"encoding/json"
	"fmt"
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
	if st["state"] != "running" || st["created_by"] != e.actors["analyst"] {
		t.Fatalf("status: %v", st)
	}
	for _, role := range []string{"analyst", "manager", "admin"} {
		rows := e.must(http.StatusOK, e.do(role, http.MethodGet, "/v1/reports/custom/leads_by_source", nil))
		if got := string(rows.raw); !strings.Contains(got, `"items":[{"source":"referral","n":1},{"source":"webinar","n":2}]`) ||
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
	if !strings.Contains(string(page.raw), `"items":[{"source":"webinar","n":2}],"next_cursor":null`) {
		t.Fatalf("second page: %s", page.raw)
	}
	for _, q := range []string{"?limit=0", "?cursor=bm90IGpzb24", "?table=nope"} {
		r := e.must(http.StatusBadRequest, e.do("analyst", http.MethodGet, "/v1/reports/custom/leads_by_source"+q, nil))
		if r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: %s", q, r.header.Get("Content-Type"))
		}
	}
	e.must(http.StatusNotFound, e.do("analyst", http.MethodGet, "/v1/reports/custom/nope", nil))

	// Refusals name the handler and leave everything else as it was.
	var schema string
	if err := e.pool.QueryRow(context.Background(), `SELECT schema_name FROM crm_custom_reports WHERE name = 'leads_by_source'`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	events, rowsBefore := e.eventCount(), string(e.must(http.StatusOK, e.do("analyst", http.MethodGet, "/v1/reports/custom/leads_by_source", nil)).raw)
	for _, handler := range []string{
		"DELETE FROM crm_events",
		`DROP TABLE "` + schema + `".leads_by_source`,
		`DELETE FROM "` + schema + `".leads_by_source`,
		"INSERT INTO x SELECT rolname FROM pg_authid",
		"INSERT INTO x VALUES (:stream_id",
	} {
		bad := map[string]any{"name": "escape", "table": "CREATE TABLE x (k text PRIMARY KEY)",
			"handlers": map[string]string{"lead.captured.v1": handler}}
		r := e.must(http.StatusBadRequest, e.do("analyst", http.MethodPost, "/v1/reports/custom", bad))
		var problem struct {
			Errors []struct{ Field, Message string } `json:"errors"`
		}
		if err := json.Unmarshal(r.raw, &problem); err != nil || len(problem.Errors) != 1 || problem.Errors[0].Field != "handlers.lead.captured.v1" {
			t.Fatalf("refusal of %s: %s", handler, r.raw)
		}
		rows := string(e.must(http.StatusOK, e.do("analyst", http.MethodGet, "/v1/reports/custom/leads_by_source", nil)).raw)
		if e.eventCount() != events || rows != rowsBefore {
			t.Fatalf("%s changed something: %d events (was %d), rows %s (were %s)", handler, e.eventCount(), events, rows, rowsBefore)
		}
	}
	e.must(http.StatusBadRequest, e.do("analyst", http.MethodPost, "/v1/reports/custom", `{"name": "x", "tables": "y"}`))
	badUntil := map[string]any{"name": "x", "table": "CREATE TABLE x (k text PRIMARY KEY)",
		"handlers": map[string]string{"lead.captured.v1": "INSERT INTO x VALUES (:stream_id)"}, "until": "yesterday"}
	if r := e.must(http.StatusBadRequest, e.do("analyst", http.MethodPost, "/v1/reports/custom", badUntil)); !strings.Contains(string(r.raw), `"field":"until"`) {
		t.Fatalf("bad until: %s", r.raw)
	}
	if r := e.must(http.StatusBadRequest, e.do("analyst", http.MethodPost, "/v1/reports/custom", `{"name": "Bad Name", "table": "", "handlers": {}}`)); !strings.Contains(string(r.raw), `"field":"name"`) {
		t.Fatalf("bad name: %s", r.raw)
	}
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

// TestCustomReportUntilOverHTTP: a report with until between two batches
// of leads counts only the first batch, and says it is complete.
func TestCustomReportUntilOverHTTP(t *testing.T) {
	e := newEnv(t)
	capture := func(src string, i int) {
		e.must(http.StatusCreated, e.do("sales", http.MethodPost, "/v1/leads", leadWith("source", src, "email", fmt.Sprintf("u%d@example.com", i))))
	}
	for i, src := range []string{"webinar", "referral", "webinar"} {
		capture(src, i)
	}
	time.Sleep(50 * time.Millisecond)
	until := time.Now().UTC()
	time.Sleep(50 * time.Millisecond)
	for i, src := range []string{"webinar", "event", "event", "referral"} {
		capture(src, 10+i)
	}
	def := map[string]any{"name": "leads_q1", "table": "CREATE TABLE leads_q1 (source text PRIMARY KEY, n int NOT NULL)",
		"handlers": map[string]string{"lead.captured.v1": "INSERT INTO leads_q1 VALUES (:data.source, 1) ON CONFLICT (source) DO UPDATE SET n = leads_q1.n + 1"},
		"until":    until.Format(time.RFC3339Nano)}
	e.must(http.StatusCreated, e.do("analyst", http.MethodPost, "/v1/reports/custom", def))
	st := e.customReport("analyst", "leads_q1")
	if st["state"] != "complete" || st["progress"].(map[string]any)["events_seen"].(float64) < 3 {
		t.Fatalf("status: %v", st)
	}
	rows := e.must(http.StatusOK, e.do("manager", http.MethodGet, "/v1/reports/custom/leads_q1", nil))
	if got := string(rows.raw); !strings.Contains(got, `"items":[{"source":"referral","n":1},{"source":"webinar","n":2}]`) {
		t.Fatalf("rows: %s", got)
	}
	e.must(http.StatusNoContent, e.do("admin", http.MethodDelete, "/v1/reports/custom/leads_q1", nil))
}
