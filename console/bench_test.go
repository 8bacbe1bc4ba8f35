package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crm/internal/app"
	"crm/internal/bench"
	"crm/internal/testdb"
	"crm/projections"
)

// seedOpportunitiesSQL appends $1 opportunities straight into the log:
// each opened in prospecting and moved on by its number (a fifth each to
// qualification, proposal, negotiation, won and lost), spread over twelve
// close months and three currencies.
const seedOpportunitiesSQL = `
INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data, actor, command_id, correlation_id, causation_id, recorded_at)
SELECT gen_random_uuid(), 'opportunity-' || o.id, v.version, v.type, 1, v.data, 'key:bench', 'cmd-o' || o.n, 'corr-o' || o.n, 'cmd-o' || o.n,
       timestamptz '2026-06-01' + (o.n * 2 + v.version) * interval '1 second'
FROM (SELECT n, gen_random_uuid() AS id, (ARRAY['qualification','proposal','negotiation','closed_won','closed_lost'])[1 + n % 5] AS stage
      FROM generate_series(1, $1::bigint) AS n) AS o
CROSS JOIN LATERAL (VALUES
  (1, 'opportunity.opened.v1', jsonb_build_object('opportunity_id', o.id, 'account_id', gen_random_uuid(), 'name', 'Deal ' || o.n,
      'amount', ((o.n % 97 + 1) * 1000)::text || '.00', 'currency', (ARRAY['EUR','USD','CNY'])[1 + o.n % 3],
      'expected_close_date', to_char(date '2027-01-01' + (o.n % 12) * interval '1 month', 'YYYY-MM-DD'),
      'owner_id', 'rep-' || (o.n % 20), 'stage', 'prospecting', 'probability', 10, 'forecast_category', 'pipeline',
      'opened_at', timestamptz '2026-06-01' + o.n * 2 * interval '1 second')),
  (2, 'opportunity.stage_changed.v1', jsonb_build_object('opportunity_id', o.id, 'from', 'prospecting', 'to', o.stage,
      'probability', CASE o.stage WHEN 'qualification' THEN 30 WHEN 'proposal' THEN 60 WHEN 'negotiation' THEN 80 WHEN 'closed_won' THEN 100 ELSE 0 END,
      'forecast_category', CASE o.stage WHEN 'qualification' THEN 'pipeline' WHEN 'proposal' THEN 'best_case' WHEN 'negotiation' THEN 'commit' WHEN 'closed_won' THEN 'closed' ELSE 'omitted' END,
      'reason', CASE o.stage WHEN 'closed_lost' THEN 'price' ELSE NULL END,
      'changed_at', timestamptz '2026-06-01' + (o.n * 2 + 1) * interval '1 second'))
) AS v(version, type, data)
ORDER BY o.n, v.version`

// BenchmarkConsolePages times the server-side render of the dashboard and
// the list pages (request in, HTML out, the API called in-process) with
// 100,000 leads and 20,000 opportunities loaded, and reports the median.
func BenchmarkConsolePages(b *testing.B) {
	ctx := context.Background()
	a, err := app.Build(ctx, app.Config{
		Database:    app.DatabaseConfig{URL: testdb.NewDatabase(b), MaxConns: 40},
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		MasterKey:   app.StaticKey([]byte("console-bench-master-key-0123456789abcdef")),
		Commands:    true,
		Projections: &projections.Options{},
		HTTP:        &app.HTTPConfig{Metrics: prometheus.NewRegistry()},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	for done := int64(0); done < 100_000; done += 10_000 {
		if _, err := a.DB.Pool.Exec(ctx, bench.SeedLeadsSQL, 10_000, done); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := a.DB.Pool.Exec(ctx, seedOpportunitiesSQL, 20_000); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := a.Start(ctx); err != nil {
		b.Fatal(err)
	}
	_, secret, err := a.Keys.Create(ctx, "bench", "admin")
	if err != nil {
		b.Fatal(err)
	}
	waitCaughtUp(b, a.Handler, secret)
	b.Logf("projections caught up with 100,000 leads and 20,000 opportunities in %s", time.Since(start).Round(time.Second))
	// Statistics for the freshly filled read models, as autovacuum would
	// gather them soon after a load of this size.
	if _, err := a.DB.Pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	cookie := signInTo(b, a.Handler, secret)

	for _, p := range []struct{ name, path, want string }{
		{"api_dashboard", "/v1/reports/dashboard", `"sales"`},
		{"api_funnel", "/v1/reports/funnel", `"leads"`},
		{"api_pipeline", "/v1/reports/pipeline", `"stages"`},
		{"dashboard", "/", `data-funnel="opportunity-funnel.closed_won"`},
		{"leads", "/leads", `data-list="leads"`},
		{"leads_filtered", "/leads?status=qualified&source=webinar", `data-list="leads"`},
		{"leads_search", "/leads?q=Company+42", `data-list="leads"`},
		{"opportunities", "/opportunities?stage=proposal", `data-list="opportunities"`},
	} {
		b.Run(p.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.AddCookie(cookie)
				req.Header.Set("Authorization", "Bearer "+secret)
				w := httptest.NewRecorder()
				t0 := time.Now()
				a.Handler.ServeHTTP(w, req)
				took = append(took, time.Since(t0))
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), p.want) {
					b.Fatalf("GET %s: %d\n%.2000s", p.path, w.Code, w.Body.String())
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
		})
	}
}

// waitCaughtUp waits until every projection reports caught_up.
func waitCaughtUp(b *testing.B, h http.Handler, key string) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		req := httptest.NewRequest(http.MethodGet, "/v1/projections", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := w.Body.String()
		if w.Code == http.StatusOK && !strings.Contains(body, `"caught_up":false`) && strings.Contains(body, `"caught_up":true`) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	b.Fatal("projections did not catch up in 10 minutes")
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signInTo signs in through the console's form and returns the session
// cookie.
func signInTo(b *testing.B, h http.Handler, key string) *http.Cookie {
	b.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/signin", nil))
	m := csrfField.FindStringSubmatch(w.Body.String())
	if m == nil {
		b.Fatalf("sign-in page without a token: %s", w.Body.String())
	}
	form := url.Values{"csrf": {m[1]}, "key": {key}, "next": {"/"}}
	req := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range w.Result().Cookies() {
		req.AddCookie(c)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	for _, c := range w.Result().Cookies() {
		if c.Name == "crm_session" && c.Value != "" {
			return c
		}
	}
	b.Fatalf("sign-in: %d %s", w.Code, w.Body.String())
	return nil
}
