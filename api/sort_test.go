package api_test

import (
	"net/http"
	"slices"
	"testing"
)

func TestListsSortOverHTTP(t *testing.T) {
	e := newEnv(t)
	var pos string
	for i, name := range []string{"Carol", "Alice", "Bob"} {
		pos = e.must(http.StatusCreated, e.do("sales", http.MethodPost, "/v1/leads",
			leadWith("name", name, "email", "sort"+string(rune('a'+i))+"@example.com"))).str("position")
	}
	names := func(path string) []string {
		t.Helper()
		r := e.must(http.StatusOK, e.do("sales", http.MethodGet, path+"&min_position="+pos, nil))
		var out []string
		for _, it := range r.body["items"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return out
	}
	if got := names("/v1/leads?sort=name"); !slices.Equal(got, []string{"Alice", "Bob", "Carol"}) {
		t.Errorf("sort=name: %v", got)
	}
	if got := names("/v1/leads?sort=-name"); !slices.Equal(got, []string{"Carol", "Bob", "Alice"}) {
		t.Errorf("sort=-name: %v", got)
	}
	if got := names("/v1/leads?sort=-created"); !slices.Equal(got, []string{"Bob", "Alice", "Carol"}) {
		t.Errorf("sort=-created: %v", got)
	}
	// Paging by name continues where the page ended.
	first := e.must(http.StatusOK, e.do("sales", http.MethodGet, "/v1/leads?sort=name&limit=2", nil))
	next := e.must(http.StatusOK, e.do("sales", http.MethodGet, "/v1/leads?sort=name&limit=2&cursor="+first.str("next_cursor"), nil))
	if items := next.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "Carol" {
		t.Errorf("second page by name: %s", next.raw)
	}
	// The cursor of one order is refused by another; unknown orders are
	// refused naming sort.
	r := e.must(http.StatusBadRequest, e.do("sales", http.MethodGet, "/v1/leads?sort=-name&cursor="+first.str("next_cursor"), nil))
	if errs, _ := r.body["errors"].([]any); len(errs) == 0 || errs[0].(map[string]any)["field"] != "cursor" {
		t.Errorf("cursor under another order: %s", r.raw)
	}
	for _, path := range []string{"/v1/leads?sort=amount", "/v1/opportunities?sort=score", "/v1/tickets?sort=--due", "/v1/contacts?sort=updated"} {
		r := e.must(http.StatusBadRequest, e.do("admin", http.MethodGet, path, nil))
		if errs, _ := r.body["errors"].([]any); len(errs) == 0 || errs[0].(map[string]any)["field"] != "sort" {
			t.Errorf("%s: %s, want a 400 naming sort", path, r.raw)
		}
	}
	for _, path := range []string{"/v1/opportunities?sort=-amount", "/v1/opportunities?sort=close_date", "/v1/tickets?sort=priority",
		"/v1/tickets?sort=-due", "/v1/accounts?sort=-updated", "/v1/contacts?sort=name", "/v1/leads?sort=-score"} {
		e.must(http.StatusOK, e.do("admin", http.MethodGet, path, nil))
	}
}
