package workflows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"crm/eventstore/postgres"
	"crm/internal/apikeys"
	"crm/internal/app"
	"crm/internal/testdb"
	"crm/projections"
	"crm/workflows"
	"crm/workflows/scheduler"
	"crm/workflows/webhooks"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// clock is the controlled clock the commands and the scheduler share.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is the whole server on loopback with the automations running on a
// controlled clock.
type env struct {
	t        *testing.T
	url      string
	pool     *pgxpool.Pool
	keys     map[string]string
	clock    *clock
	sched    *scheduler.Scheduler
	backbone *workflows.Backbone
	store    *postgres.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	// The clock starts a day in the past, so due times it computes are
	// past on the wall clock too (the tickets list judges breaches by it).
	clk := &clock{now: time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.Build(ctx, app.Config{
		Database:    app.DatabaseConfig{URL: testdb.NewDatabase(t), MaxConns: 30},
		Logger:      logger,
		MasterKey:   app.StaticKey([]byte("workflows-test-master-key-0123456789abcdef")),
		SealKey:     app.StaticKey([]byte("test seal key, 32 bytes or more!")),
		Commands:    true,
		Clock:       clk.Now,
		Projections: &projections.Options{},
		Workflows: &app.WorkflowsConfig{
			Run:       true,
			Backbone:  workflows.Options{MaxRetries: 2, RetryInterval: 10 * time.Millisecond},
			Clock:     clk,
			Scheduler: scheduler.Options{PollInterval: 50 * time.Millisecond},
			// The test's receivers listen on loopback, which only a test
			// binary can open.
			Webhooks: webhooks.Options{Guard: webhooks.AllowLoopbackInTests(webhooks.Guard{}),
				Backoff: 50 * time.Millisecond, MaxBackoff: time.Second, PollInterval: 20 * time.Millisecond},
		},
		HTTP: &app.HTTPConfig{Metrics: prometheus.NewRegistry()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(srv.Close)
	e := &env{t: t, url: srv.URL, pool: a.DB.Pool, keys: map[string]string{}, clock: clk, sched: a.Scheduler, backbone: a.Backbone, store: a.Postgres}
	for _, role := range apikeys.Roles {
		_, secret, err := a.Keys.Create(ctx, role+"-key", role)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[role] = secret
	}
	return e
}

type response struct {
	status int
	raw    []byte
	body   map[string]any
}

func (r response) str(k string) string { s, _ := r.body[k].(string); return s }

func (e *env) do(role, method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+e.keys[role])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func (e *env) must(status int, r response) response {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// eventually retries cond until it holds or 10 s pass.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// history returns an entity's events as the API shows them.
func (e *env) history(kind, id string) []map[string]any {
	e.t.Helper()
	r := e.must(http.StatusOK, e.do("admin", "GET", "/v1/"+kind+"/"+id+"/history", nil))
	items, _ := r.body["items"].([]any)
	var out []map[string]any
	for _, it := range items {
		out = append(out, it.(map[string]any))
	}
	return out
}

// user registers an active user and returns their id: owners and
// assignees must name one.
func (e *env) user(name string) string {
	e.t.Helper()
	body := map[string]any{"name": name, "email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "." + uuid.NewString()[:8] + "@staff.example.com"}
	return e.must(http.StatusCreated, e.do("admin", "POST", "/v1/users", body)).str("id")
}

// eventsOf returns the history entries of one type. A lead's scores are
// on its score stream, read from the events feed.
func (e *env) eventsOf(kind, id, typ string) []map[string]any {
	var out []map[string]any
	if kind == "leads" && typ == "lead.scored.v1" {
		r := e.must(http.StatusOK, e.do("admin", "GET", "/v1/events?types=lead.scored.v1&limit=500", nil))
		items, _ := r.body["items"].([]any)
		for _, it := range items {
			if ev := it.(map[string]any); ev["stream"] == "lead_score-"+id {
				out = append(out, ev)
			}
		}
		return out
	}
	for _, ev := range e.history(kind, id) {
		if ev["type"] == typ {
			out = append(out, ev)
		}
	}
	return out
}

func meta(ev map[string]any, key string) string {
	m, _ := ev["metadata"].(map[string]any)
	s, _ := m[key].(string)
	return s
}

// advance moves the controlled clock and lets the scheduler look.
func (e *env) advance(d time.Duration) {
	e.clock.add(d)
	e.sched.Wake()
}

func (e *env) account(tier string) string {
	e.t.Helper()
	return e.must(http.StatusCreated, e.do("admin", "POST", "/v1/accounts", map[string]any{"name": "Acme " + tier, "tier": tier})).str("id")
}

func (e *env) opportunity(account, amount, closeDate string) string {
	e.t.Helper()
	return e.must(http.StatusCreated, e.do("sales", "POST", "/v1/opportunities", map[string]any{"account_id": account, "name": "Deal " + amount,
		"amount": amount, "currency": "EUR", "expected_close_date": closeDate})).str("id")
}

var leadN int

func (e *env) lead(extra map[string]any) string {
	e.t.Helper()
	leadN++
	body := map[string]any{"name": "Lead", "company": "Co", "email": fmt.Sprintf("lead%d-%d@example.com", leadN, time.Now().UnixNano()), "source": "webinar"}
	for k, v := range extra {
		body[k] = v
	}
	return e.must(http.StatusCreated, e.do("sales", "POST", "/v1/leads", body)).str("id")
}
