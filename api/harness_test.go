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

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"crm/commands"
	"crm/internal/apikeys"
	"crm/internal/app"
	"crm/internal/customreports"
	"crm/internal/testdb"
	"crm/projections"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// env is a running API on loopback over its own database.
type env struct {
	t      testing.TB
	url    string
	pool   *pgxpool.Pool
	keys   map[string]string // role -> secret
	actors map[string]string // role -> the actor its key writes
	cmds   *commands.Handler
	engine *projections.Engine
	owners map[string]string // name -> the user owner() registered
}

// testMasterKey is the privacy master key of the test servers.
const testMasterKey = "api-test-master-key-0123456789abcdef"

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvClock(t, nil)
}

// newEnvClock is newEnv with the commands' clock (nil: time.Now). It
// builds the server through the composition root, as serve does, without
// the automations.
func newEnvClock(t testing.TB, clock func() time.Time) *env {
	t.Helper()
	return newEnvWith(t, func(c *app.Config) { c.Clock = clock })
}

// newEnvWith is newEnv with the configuration adjusted by tune before the
// build (for example to add the automations' routes).
func newEnvWith(t testing.TB, tune func(*app.Config)) *env {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := app.Config{
		Database:    app.DatabaseConfig{URL: testdb.NewDatabase(t), MaxConns: 40},
		Logger:      logger,
		MasterKey:   app.StaticKey([]byte(testMasterKey)),
		SealKey:     app.StaticKey([]byte("test seal key, 32 bytes or more!")),
		Commands:    true,
		Projections: &projections.Options{BatchSize: 500},
		Reports:     &customreports.Options{Poll: 100 * time.Millisecond},
		HTTP:        &app.HTTPConfig{Metrics: prometheus.NewRegistry()},
	}
	if tune != nil {
		tune(&cfg)
	}
	a, err := app.Build(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(checkedHandler(t, a.Handler))
	t.Cleanup(srv.Close)
	e := &env{t: t, url: srv.URL, pool: a.DB.Pool, keys: map[string]string{}, actors: map[string]string{}, cmds: a.Commands, engine: a.Engine}
	for _, role := range apikeys.Roles {
		k, secret, err := a.Keys.Create(ctx, role+"-key", role)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[role] = secret
		e.actors[role] = k.Principal()
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

// user registers an active user named name (with a unique email) and
// returns their id: owner_id and assignee_id must name one.
// owner is the id of a user called name registered in this env, the same
// id on every call: a test's owners and assignees by name.
func (e *env) owner(name string) string {
	e.t.Helper()
	if id, ok := e.owners[name]; ok {
		return id
	}
	if e.owners == nil {
		e.owners = map[string]string{}
	}
	e.owners[name] = e.user(name)
	return e.owners[name]
}

func (e *env) user(name string, kv ...string) string {
	e.t.Helper()
	body := map[string]any{"name": name, "email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "." + uuid.NewString()[:8] + "@staff.example.com"}
	for i := 0; i+1 < len(kv); i += 2 {
		body[kv[i]] = kv[i+1]
	}
	return e.must(201, e.do("admin", "POST", "/v1/users", body)).str("id")
}
