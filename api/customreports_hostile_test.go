package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHostileReportDoesNotHoldUpCommandsOrReadModels: an analyst defines
// reports that sleep, take the engine's advisory locks, read the catalog
// through the XML functions, run a huge cross join or run slowly over a
// long batch, while sales keep posting leads and reading the lead list.
// The first kinds are refused when created; the cross join is cut and
// its report fails and gives its disk back; the slow report is cut into
// batches short enough that the lead list still reaches every command
// within the read-your-writes wait.
func TestHostileReportDoesNotHoldUpCommandsOrReadModels(t *testing.T) {
	e := newEnv(t)
	for i := range 40 {
		e.must(http.StatusCreated, e.do("sales", http.MethodPost, "/v1/leads",
			leadWith("email", fmt.Sprintf("before%d@example.com", i), "source", "web")))
	}
	const table = "CREATE TABLE x (k text PRIMARY KEY, n bigint NOT NULL)"
	refused := map[string]string{
		"sleep":         `INSERT INTO x SELECT :event_id, 1 FROM pg_sleep(30)`,
		"stream_lock":   `INSERT INTO x SELECT :stream_id, 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended(:stream_id, 0))) s`,
		"session_lock":  `INSERT INTO x SELECT :stream_id, 1 WHERE pg_try_advisory_lock(hashtextextended('crm_projection:lists', 0))`,
		"catalog_xml":   `INSERT INTO x SELECT query_to_xml('SELECT rolname, rolpassword FROM pg_authid', true, false, '')::text, 1`,
		"authid_xml":    `INSERT INTO x SELECT table_to_xml('pg_catalog.pg_authid', true, false, '')::text, 1`,
		"cursor_xml":    `INSERT INTO x SELECT cursor_to_xml('c', 1, true, false, '')::text, 1`,
		"settings":      `INSERT INTO x SELECT current_setting('hba_file'), 1`,
		"kill_a_writer": `INSERT INTO x SELECT :stream_id, 1 WHERE pg_terminate_backend(1)`,
	}
	for name, handler := range refused {
		r := e.must(http.StatusBadRequest, e.do("analyst", http.MethodPost, "/v1/reports/custom", map[string]any{
			"name": name, "table": table, "handlers": map[string]string{"lead.captured.v1": handler}}))
		if !strings.Contains(string(r.raw), `"field":"handlers.lead.captured.v1"`) || !strings.Contains(string(r.raw), "may not call") {
			t.Fatalf("%s: %s", name, r.raw)
		}
	}
	e.must(http.StatusCreated, e.do("analyst", http.MethodPost, "/v1/reports/custom", map[string]any{
		"name": "boom", "table": table, "handlers": map[string]string{"lead.captured.v1": `INSERT INTO x
SELECT :event_id || a.g || '-' || b.g, 1 FROM generate_series(1, 100000) a(g), generate_series(1, 100000) b(g)`}}))
	e.must(http.StatusCreated, e.do("analyst", http.MethodPost, "/v1/reports/custom", map[string]any{
		"name": "slow", "table": table, "handlers": map[string]string{"lead.captured.v1": `INSERT INTO x
SELECT :data.source, 1 + 0 * count(*) FROM generate_series(1, 600000) ON CONFLICT (k) DO UPDATE SET n = x.n + 1`}}))

	// Meanwhile, sales post leads and read them back from the list.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				email := fmt.Sprintf("during-%d-%d@example.com", w, i)
				r := e.do("sales", http.MethodPost, "/v1/leads", leadWith("email", email, "source", "web"))
				if r.status != http.StatusCreated {
					errs <- fmt.Errorf("capture %s: %d %s", email, r.status, r.raw)
					return
				}
				id, pos := r.str("id"), r.str("position")
				found := false
				for deadline := time.Now().Add(30 * time.Second); !found && time.Now().Before(deadline); {
					l := e.do("sales", http.MethodGet, "/v1/leads?limit=500&min_position="+url.QueryEscape(pos), nil)
					if l.status == http.StatusOK {
						found = strings.Contains(string(l.raw), id)
						if !found {
							errs <- fmt.Errorf("the list reached %s without lead %s", pos, id)
							return
						}
					}
				}
				if !found {
					errs <- fmt.Errorf("lead %s never reached the list", id)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	boom := e.customReport("analyst", "boom")
	if boom["state"] != "failed" || !strings.Contains(fmt.Sprint(boom["error"]), "lead.captured.v1") {
		t.Fatalf("the cross join: %v", boom)
	}
	t.Log(boom["error"])
	rows := e.must(http.StatusOK, e.do("analyst", http.MethodGet, "/v1/reports/custom/boom", nil))
	if !strings.Contains(string(rows.raw), `"items":[]`) {
		t.Fatalf("the failed report kept rows: %s", rows.raw)
	}
	if slow := e.must(http.StatusOK, e.do("analyst", http.MethodGet, "/v1/reports/custom", nil)); strings.Contains(string(slow.raw), `"name":"slow","state":"failed"`) {
		t.Fatalf("the slow report failed: %s", slow.raw)
	}
}
