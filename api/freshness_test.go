package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestReportsSayTheirPosition: a custom report read with min_position
// waits until it has read the command's events, like the built-in
// reports; every report answer (funnel, pipeline, dashboard, custom)
// says the position it reflects, at or after the one asked for. A
// malformed min_position is a 400 naming it; an unknown report a 404.
func TestReportsSayTheirPosition(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, e.do("analyst", http.MethodPost, "/v1/reports/custom", leadsBySource))
	e.customReport("analyst", "leads_by_source")
	var pos string
	for i, src := range []string{"webinar", "referral", "webinar", "fair"} {
		pos = e.must(http.StatusCreated, e.do("sales", http.MethodPost, "/v1/leads",
			leadWith("source", src, "email", "fresh"+string(rune('a'+i))+"@example.com"))).str("position")
	}
	q := "?min_position=" + url.QueryEscape(pos)

	page := e.must(http.StatusOK, e.do("analyst", http.MethodGet, "/v1/reports/custom/leads_by_source"+q, nil))
	counts := map[string]float64{}
	for _, it := range page.body["items"].([]any) {
		row := it.(map[string]any)
		counts[row["source"].(string)] = row["n"].(float64)
	}
	if counts["webinar"] != 2 || counts["referral"] != 1 || counts["fair"] != 1 {
		t.Errorf("report read with min_position misses the command's events: %v", counts)
	}
	if got := page.str("position"); got < pos {
		t.Errorf("custom report position %q, want at or after %q", got, pos)
	}

	for _, path := range []string{"/v1/reports/funnel", "/v1/reports/pipeline", "/v1/reports/dashboard"} {
		r := e.must(http.StatusOK, e.do("analyst", http.MethodGet, path+q, nil))
		if got := r.str("position"); len(got) != 32 || got < pos {
			t.Errorf("%s position %q, want a cursor at or after %q", path, got, pos)
		}
		if path == "/v1/reports/funnel" && r.body["leads"] == nil {
			t.Errorf("funnel lost its body: %s", r.raw)
		}
	}

	r := e.do("analyst", http.MethodGet, "/v1/reports/custom/leads_by_source?min_position=nope", nil)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.raw), `"field":"min_position"`) {
		t.Errorf("malformed min_position: %d %s", r.status, r.raw)
	}
	if r := e.do("analyst", http.MethodGet, "/v1/reports/custom/nope"+q, nil); r.status != http.StatusNotFound {
		t.Errorf("unknown report: %d %s", r.status, r.raw)
	}
	// A position no report can reach within the wait: 503 with Retry-After.
	far := "?min_position=" + strings.Repeat("7", 16) + strings.Repeat("0", 15) + "1"
	if r := e.do("analyst", http.MethodGet, "/v1/reports/custom/leads_by_source"+far, nil); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("unreachable min_position: %d %s", r.status, r.raw)
	}
}
