package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"crm/api"
	"crm/commands"
	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/apiadapter"
	"crm/internal/apikeys"
	"crm/internal/customreports"
	"crm/internal/integrity"
	"crm/internal/pgmigrate"
	"crm/internal/privacy"
	"crm/internal/repository"
	"crm/internal/requestlog"
	"crm/internal/testdb"
	"crm/projections"
	"crm/readmodels"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// env is a running API on loopback over its own database.
type env struct {
	t      testing.TB
	url    string
	pool   *pgxpool.Pool
	keys   map[string]string // role -> secret
	cmds   *commands.Handler
	engine *projections.Engine
}

// testMasterKey is the privacy master key of the test servers.
const testMasterKey = "api-test-master-key-0123456789abcdef"

type ready struct{}

func (ready) Ready(context.Context) error { return nil }

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvClock(t, nil)
}

// newEnvClock is newEnv with the commands' clock (nil: time.Now).
func newEnvClock(t testing.TB, clock func() time.Time) *env {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 40
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, set := range []pgmigrate.Set{postgres.Migrations, apikeys.Migrations, repository.Migrations, projections.Migrations, requestlog.Migrations, privacy.Migrations} {
		if err := pgmigrate.Migrate(ctx, pool, set); err != nil {
			t.Fatal(err)
		}
	}
	store := postgres.New(pool, postgres.Options{})
	t.Cleanup(func() { store.Close() })
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		t.Fatal(err)
	}
	vault, err := privacy.New(pool, []byte(testMasterKey))
	if err != nil {
		t.Fatal(err)
	}
	log := vault.Log(store)
	repo := repository.New(pool, store, codec, vault)
	ks := apikeys.New(pool)
	cmds := commands.New(repo, commands.Options{Clock: clock})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine := projections.New(pool, log, codec, projections.All(), projections.Options{Logger: logger, BatchSize: 500})
	if err := engine.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	bg, stop := context.WithCancel(context.Background())
	adapter := apiadapter.New(bg, engine, log, logger)
	running := make(chan struct{})
	go func() { defer close(running); _ = engine.Run(bg) }()
	t.Cleanup(func() { stop(); <-running; adapter.Wait() })
	queries := readmodels.New(pool)
	requests := requestlog.New(pool, requestlog.Options{Logger: logger})
	t.Cleanup(requests.Close)
	if err := pgmigrate.Migrate(ctx, pool, customreports.Migrations); err != nil {
		t.Fatal(err)
	}
	custom := customreports.New(pool, store, customreports.Options{Types: codec.Types(), Poll: 100 * time.Millisecond, Logger: logger})
	customRunning := make(chan struct{})
	go func() { defer close(customRunning); _ = custom.Run(bg) }()
	t.Cleanup(func() { stop(); <-customRunning; custom.Close() })
	h, err := api.NewRouter(api.Options{Ready: ready{}, Metrics: prometheus.NewRegistry(),
		Logger: logger, Keys: apikeys.ForAPI(ks), Commands: cmds, Responses: repo,
		Progress: adapter, Projections: adapter, Feed: adapter, Lists: queries, Audit: queries, Reports: queries, Requests: requests,
		Verifier: integrity.New(pool, []byte("test seal key, 32 bytes or more!")), CustomReports: custom})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &env{t: t, url: srv.URL, pool: pool, keys: map[string]string{}, cmds: cmds, engine: engine}
	for _, role := range apikeys.Roles {
		_, secret, err := ks.Create(ctx, role+"-key", role)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[role] = secret
	}
	return e
}

// response is a decoded HTTP answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// do sends a request as role with a JSON body (a string is sent verbatim)
// and extra headers as key/value pairs.
func (e *env) do(role, method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
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
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.keys[role])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// must checks the status and returns the response.
func (e *env) must(status int, r response) response {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// eventCount is the number of events in the whole log.
func (e *env) eventCount() int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_events`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// streamCount is the number of events of one stream.
func (e *env) streamCount(stream string) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_events WHERE stream_id = $1`, stream).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

var leadBody = map[string]any{"name": "Ada Lovelace", "company": "Engines Ltd", "email": "ada@example.com",
	"source": "webinar", "campaign": "q1", "region": "EMEA", "industry": "manufacturing", "company_size": "51-200"}

func leadWith(kv ...any) map[string]any {
	m := map[string]any{}
	for k, v := range leadBody {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}
