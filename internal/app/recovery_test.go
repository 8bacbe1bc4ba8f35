package app

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
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crm/internal/embeddedpg"
	"crm/projections"
)

// client bounds every request, so a stuck server fails the test.
var client = &http.Client{Timeout: 30 * time.Second}

// recoveryEnv is an App serving HTTP on loopback, with a sales key.
type recoveryEnv struct {
	t   *testing.T
	app *App
	url string
	key string
}

func startRecoveryEnv(t *testing.T, db DatabaseConfig) *recoveryEnv {
	t.Helper()
	ctx := context.Background()
	if db.MaxConns == 0 {
		db.MaxConns = 40
	}
	a, err := Build(ctx, Config{
		Database:    db,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		MasterKey:   StaticKey([]byte("recovery-test-master-key-0123456789abcdef")),
		Commands:    true,
		Projections: &projections.Options{StandbyRetry: 100 * time.Millisecond},
		Workflows:   &WorkflowsConfig{Run: true},
		HTTP:        &HTTPConfig{Metrics: prometheus.NewRegistry()},
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
	e := &recoveryEnv{t: t, app: a, url: srv.URL}
	if _, e.key, err = a.Keys.Create(ctx, fmt.Sprintf("sales-%d", time.Now().UnixNano()), "sales"); err != nil {
		t.Fatal(err)
	}
	return e
}

// lead posts a new lead under correlation id corr and returns the status
// and the lead's id (empty unless 201).
func (e *recoveryEnv) lead(corr string) (int, string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"name": "Ada", "company": "Co", "source": "webinar",
		"email": fmt.Sprintf("ada-%d@example.com", time.Now().UnixNano())})
	req, err := http.NewRequest(http.MethodPost, e.url+"/v1/leads", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("X-Correlation-ID", corr)
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out.ID
}

func (e *recoveryEnv) get(path string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// until retries cond for up to a minute.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// recovered checks that the engine works again: ready, a command
// succeeds at once, its lead reaches the lead list (the projectors
// resumed) and is scored (the automations resumed), and the request made while the database was down is in the
// request audit.
func (e *recoveryEnv) recovered(downCorr string) {
	t := e.t
	t.Helper()
	until(t, "/readyz 200", func() bool { s, _ := e.get("/readyz"); return s == http.StatusOK })
	status, id := e.lead("after-" + downCorr)
	if status != http.StatusCreated {
		t.Fatalf("a command after recovery: %d", status)
	}
	until(t, "the new lead in the lead list", func() bool {
		s, b := e.get("/v1/leads?limit=200")
		return s == http.StatusOK && bytes.Contains(b, []byte(id))
	})
	// The automations resumed too: the lead-scoring rule scores it.
	until(t, "the new lead scored", func() bool {
		s, b := e.get("/v1/leads/" + id)
		return s == http.StatusOK && !bytes.Contains(b, []byte(`"score":0`))
	})
	e.audited(downCorr)
}

// audited checks that the request audit holds the request with
// correlation id corr.
func (e *recoveryEnv) audited(corr string) {
	t := e.t
	t.Helper()
	ctx := context.Background()
	until(t, "the request audit written", func() bool { return e.app.Requests.Flush(ctx) == nil })
	var n int
	if err := e.app.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM crm_request_log WHERE correlation_id = $1`, corr).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d request audit entries for %s, want 1", n, corr)
	}
}

// shortDir is a data directory whose socket path fits sun_path, so the
// server's socket stays where it was across restarts.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "crmpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestEmbeddedPostgresKilledIsRestarted: SIGKILL to the embedded
// server's postmaster under a running engine; the engine notices,
// restarts it, and commands, projectors and the request audit work again,
// with the audit entry of a request made while it was down kept.
func TestEmbeddedPostgresKilledIsRestarted(t *testing.T) {
	if _, err := embeddedpg.FindBinaries(); err != nil {
		t.Skip(err)
	}
	e := startRecoveryEnv(t, DatabaseConfig{DataDir: shortDir(t), RestartBackoff: 200 * time.Millisecond})
	if status, _ := e.lead("before"); status != http.StatusCreated {
		t.Fatalf("first lead: %d", status)
	}
	pid := e.app.DB.embedded.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Whether this lands before or after the restart, its audit entry
	// must not be lost.
	status, _ := e.lead("while-down")
	t.Logf("command while the server was down: %d", status)
	e.recovered("while-down")
	if now := e.app.DB.embedded.PID(); now == pid || now == 0 {
		t.Fatalf("postmaster pid %d, was %d", now, pid)
	}
	select {
	case err := <-e.app.Failed():
		t.Fatalf("database given up: %v", err)
	default:
	}
}

// TestEmbeddedPostgresThatCannotRestartFails: when the killed server
// cannot start again (its configuration is gone), the bounded restarts
// end in one error on Failed, in one line.
func TestEmbeddedPostgresThatCannotRestartFails(t *testing.T) {
	if _, err := embeddedpg.FindBinaries(); err != nil {
		t.Skip(err)
	}
	dir := shortDir(t)
	e := startRecoveryEnv(t, DatabaseConfig{DataDir: dir, RestartAttempts: 3, RestartBackoff: 50 * time.Millisecond})
	if err := os.Rename(filepath.Join(dir, "pg", "postgresql.conf"), filepath.Join(dir, "postgresql.conf.moved")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(e.app.DB.embedded.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-e.app.Failed():
		if msg := err.Error(); !strings.Contains(msg, "did not restart after 3 attempts") || strings.Contains(msg, "\n") {
			t.Fatalf("failure %q, want one line naming the attempts", msg)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("no failure reported")
	}
}

// TestExternalDatabaseDownAndBack: with a database URL, the engine
// answers /readyz 503 while that server is down, spools the request
// audit, and recovers on its own when the server returns on the same
// socket; entries spooled by a process that stopped during the outage
// are written by the next one.
func TestExternalDatabaseDownAndBack(t *testing.T) {
	if _, err := embeddedpg.FindBinaries(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	pgDir := shortDir(t)
	start := func() *embeddedpg.Server {
		srv, err := embeddedpg.Start(ctx, embeddedpg.Options{DataDir: pgDir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Stop() })
		if err := srv.CreateDatabase(ctx, "crm"); err != nil {
			t.Fatal(err)
		}
		return srv
	}
	srv := start()
	db := DatabaseConfig{URL: srv.URL("crm"), DataDir: t.TempDir()}
	e := startRecoveryEnv(t, db)
	if status, _ := e.lead("before"); status != http.StatusCreated {
		t.Fatalf("first lead: %d", status)
	}
	if s, _ := e.get("/readyz"); s != http.StatusOK {
		t.Fatalf("/readyz %d while up", s)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if s, _ := e.get("/readyz"); s != http.StatusServiceUnavailable {
			t.Fatalf("/readyz %d while the database is down", s)
		}
	}
	if status, _ := e.lead("down-1"); status < 500 {
		t.Fatalf("a command with the database down: %d", status)
	}
	srv = start()
	e.recovered("down-1")

	// Down again, and this process stops before the database returns.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.lead("down-2"); status < 500 {
		t.Fatalf("a command with the database down: %d", status)
	}
	e.app.Close()
	spool, err := os.ReadFile(filepath.Join(db.DataDir, "request-audit-spool", "request-audit.spool"))
	if err != nil || !bytes.Contains(spool, []byte("down-2")) {
		t.Fatalf("the spool does not hold the entry (%v): %s", err, spool)
	}
	start()
	next := startRecoveryEnv(t, db)
	next.audited("down-2")
	next.audited("down-1")
}
