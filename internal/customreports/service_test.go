package customreports_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/customreports"
	"crm/internal/pgmigrate"
	"crm/internal/testdb"
	"crm/readmodels"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// clock is a settable time source for the store's recorded times.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

type env struct {
	t     testing.TB
	pool  *pgxpool.Pool
	store *postgres.Store
	svc   *customreports.Service
	clock *clock
	seq   int
}

var t0 = time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the service's options changed by opt.
func newEnvWith(t testing.TB, opt func(*customreports.Options)) *env {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, set := range []pgmigrate.Set{postgres.Migrations, customreports.Migrations} {
		if err := pgmigrate.Migrate(ctx, pool, set); err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{now: t0}
	store := postgres.New(pool, postgres.Options{Clock: c.Now, PollInterval: 50 * time.Millisecond})
	t.Cleanup(func() { store.Close() })
	types := []string{"lead.captured.v1", "opportunity.opened.v1", "opportunity.stage_changed.v1", "lead.converted.v1",
		"ticket.opened.v1", "ticket.responded.v1", "ticket.resolved.v1", "opportunity.amount_changed.v1", "opportunity.reopened.v1"}
	opts := customreports.Options{Types: types, Poll: 50 * time.Millisecond, BatchSize: 100,
		StatementTimeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if opt != nil {
		opt(&opts)
	}
	svc := customreports.New(pool, store, opts)
	ctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	e := &env{t: t, pool: pool, store: store, svc: svc, clock: c}
	t.Cleanup(func() {
		// Drop what is left, so no role outlives the test database.
		if list, err := svc.List(context.Background()); err == nil {
			for _, st := range list {
				_ = svc.Drop(context.Background(), st.Name)
			}
		}
		stop()
		<-done
		svc.Close()
	})
	return e
}

// add appends one event to its own stream.
func (e *env) add(typ string, data map[string]any) eventstore.Event {
	e.t.Helper()
	e.seq++
	b, _ := json.Marshal(data)
	name, v, _ := eventstore.ParseTypeName(typ)
	res, err := e.store.Append(context.Background(), eventstore.StreamEvents{
		StreamID: fmt.Sprintf("%s-%d", strings.Split(name, ".")[0], e.seq), Expected: eventstore.Any,
		Events: []eventstore.EventData{{Type: typ, SchemaVersion: v, Data: b, Metadata: eventstore.Metadata{Actor: "key:test", CorrelationID: "c1"}}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Events[0]
}

// wait waits until the report has read the whole log (or completed).
func (e *env) wait(name string) customreports.Status {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := e.svc.Get(context.Background(), name)
		if err != nil {
			e.t.Fatal(err)
		}
		if st.State == "failed" || (st.Progress.CaughtUp && st.State != "") {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("report %s did not catch up: %+v", name, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) rows(name, table string) string {
	e.t.Helper()
	var all []json.RawMessage
	cursor := ""
	for {
		p, err := e.svc.Rows(context.Background(), name, table, cursor, 2)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, p.Items...)
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	b, _ := json.Marshal(all)
	return string(b)
}

var bySource = customreports.Definition{
	Name:  "leads_by_source",
	Table: "CREATE TABLE leads_by_source (source text PRIMARY KEY, n int NOT NULL, last_at timestamptz)",
	Handlers: map[string]string{"lead.captured.v1": `INSERT INTO leads_by_source VALUES (:data.source, 1, :recorded_at)
ON CONFLICT (source) DO UPDATE SET n = leads_by_source.n + 1, last_at = excluded.last_at`},
}

func TestReportHasExactlyTheExpectedRows(t *testing.T) {
	e := newEnv(t)
	for _, src := range []string{"web", "referral", "web", "event", "web"} {
		e.add("lead.captured.v1", map[string]any{"source": src})
		e.add("opportunity.opened.v1", map[string]any{"amount": "1.00"})
	}
	if _, err := e.svc.Create(context.Background(), bySource, "key:analyst"); err != nil {
		t.Fatal(err)
	}
	st := e.wait("leads_by_source")
	if st.State != "running" || st.Progress.EventsSeen != 10 || st.Progress.EventsApplied != 5 {
		t.Fatalf("status %+v", st)
	}
	want := `[{"source":"event","n":1,"last_at":"2026-03-31T12:00:00+00:00"},{"source":"referral","n":1,"last_at":"2026-03-31T12:00:00+00:00"},{"source":"web","n":3,"last_at":"2026-03-31T12:00:00+00:00"}]`
	if got := e.rows("leads_by_source", ""); got != want {
		t.Fatalf("rows\n got %s\nwant %s", got, want)
	}
	// It follows the log live.
	e.add("lead.captured.v1", map[string]any{"source": "referral"})
	e.wait("leads_by_source")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.rows("leads_by_source", ""), `{"source":"referral","n":2`) {
		if time.Now().After(deadline) {
			t.Fatalf("live event not applied: %s", e.rows("leads_by_source", ""))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A rebuild replays the same log into the same rows.
	before := e.rows("leads_by_source", "")
	if _, err := e.svc.Rebuild(context.Background(), "leads_by_source"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		st := e.wait("leads_by_source")
		if st.Progress.EventsSeen == 11 && e.rows("leads_by_source", "") == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebuild: %+v %s", st, e.rows("leads_by_source", ""))
		}
		time.Sleep(20 * time.Millisecond)
	}
	var invalid *customreports.InvalidError
	if _, err := e.svc.Rows(context.Background(), "leads_by_source", "nope", "", 10); !errors.As(err, &invalid) || invalid.Field != "table" {
		t.Fatalf("unknown table: %v", err)
	}
	if _, err := e.svc.Rows(context.Background(), "leads_by_source", "", "!!", 10); !errors.As(err, &invalid) || invalid.Field != "cursor" {
		t.Fatalf("bad cursor: %v", err)
	}
	if _, err := e.svc.Create(context.Background(), bySource, "key:analyst"); !errors.Is(err, customreports.ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	if err := e.svc.Drop(context.Background(), "leads_by_source"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Rows(context.Background(), "leads_by_source", "", "", 10); !errors.Is(err, customreports.ErrNotFound) {
		t.Fatalf("rows after drop: %v", err)
	}
	var roles int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_roles r JOIN pg_namespace n ON n.nspname = r.rolname WHERE rolname LIKE 'crm_rpt_leads_by_source%'`).Scan(&roles); err != nil || roles != 0 {
		t.Fatalf("role or schema left after drop: %d %v", roles, err)
	}
}

func TestUntilCountsOnlyEventsRecordedUpToThen(t *testing.T) {
	e := newEnv(t)
	for _, src := range []string{"web", "web", "referral"} {
		e.add("lead.captured.v1", map[string]any{"source": src})
	}
	e.clock.Set(t0.Add(2 * time.Hour))
	for _, src := range []string{"web", "event", "event"} {
		e.add("lead.captured.v1", map[string]any{"source": src})
	}
	d := bySource
	d.Name = "leads_then"
	d.Table = strings.ReplaceAll(d.Table, "leads_by_source", "leads_then")
	d.Handlers = map[string]string{"lead.captured.v1": strings.ReplaceAll(bySource.Handlers["lead.captured.v1"], "leads_by_source", "leads_then")}
	until := t0.Add(time.Hour)
	d.Until = &until
	if _, err := e.svc.Create(context.Background(), d, "key:analyst"); err != nil {
		t.Fatal(err)
	}
	st := e.wait("leads_then")
	if st.State != "complete" || st.Progress.EventsSeen != 3 {
		t.Fatalf("status %+v", st)
	}
	want := `[{"source":"referral","n":1,"last_at":"2026-03-31T12:00:00+00:00"},{"source":"web","n":2,"last_at":"2026-03-31T12:00:00+00:00"}]`
	if got := e.rows("leads_then", ""); got != want {
		t.Fatalf("rows\n got %s\nwant %s", got, want)
	}
	// A later event changes nothing: the report stopped.
	e.add("lead.captured.v1", map[string]any{"source": "web"})
	time.Sleep(300 * time.Millisecond)
	if got := e.rows("leads_then", ""); got != want {
		t.Fatalf("rows changed after completion: %s", got)
	}
}

// fingerprint is everything outside a refused report: the events, the
// other report's rows and checkpoint, a projector's read model, the
// reports' catalog, and the roles and schemas of reports.
func (e *env) fingerprint(other string) string {
	e.t.Helper()
	ctx := context.Background()
	var schema string
	if err := e.pool.QueryRow(ctx, `SELECT schema_name FROM crm_custom_reports WHERE name = $1`, other).Scan(&schema); err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, q := range []string{
		`SELECT md5(string_agg(t::text, '|' ORDER BY position)) FROM crm_events t`,
		`SELECT md5(string_agg(t::text, '|' ORDER BY source)) FROM "` + schema + `".leads_by_source t`,
		`SELECT md5(string_agg(t::text, '|')) FROM "` + schema + `".crm_checkpoint t`,
		`SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM ` + readmodels.ListsSchemaName + `.leads t`,
		`SELECT md5(string_agg(t::text, '|' ORDER BY name)) FROM crm_custom_reports t`,
		`SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'crm_rpt_%'`,
		`SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname LIKE 'crm_rpt_%' OR nspname LIKE '` + readmodels.SchemaPrefix + `%'`,
	} {
		var s *string
		if err := e.pool.QueryRow(ctx, q).Scan(&s); err != nil {
			e.t.Fatalf("%s: %v", q, err)
		}
		if s == nil {
			out = append(out, "null")
		} else {
			out = append(out, *s)
		}
	}
	return strings.Join(out, "\n")
}

func TestSandboxRefusesEscapesAndChangesNothingElse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A projector's read model, as the projection engine keeps them.
	if _, err := e.pool.Exec(ctx, `CREATE SCHEMA `+readmodels.ListsSchemaName+`; CREATE TABLE `+readmodels.ListsSchemaName+`.leads (id text PRIMARY KEY, name text);
INSERT INTO `+readmodels.ListsSchemaName+`.leads VALUES ('l1', 'Ada')`); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"web", "referral"} {
		e.add("lead.captured.v1", map[string]any{"source": src, "n": "1"})
	}
	if _, err := e.svc.Create(ctx, bySource, "key:analyst"); err != nil {
		t.Fatal(err)
	}
	e.wait("leads_by_source")
	var otherSchema string
	if err := e.pool.QueryRow(ctx, `SELECT schema_name FROM crm_custom_reports WHERE name = 'leads_by_source'`).Scan(&otherSchema); err != nil {
		t.Fatal(err)
	}
	before := e.fingerprint("leads_by_source")
	const table = "CREATE TABLE x (k text PRIMARY KEY, n bigint)"
	cases := []struct {
		name, table, handler, field string
	}{
		{"delete events", table, "DELETE FROM crm_events", "handlers.lead.captured.v1"},
		{"delete qualified events", table, "DELETE FROM public.crm_events", "handlers.lead.captured.v1"},
		{"events into a report", table, "INSERT INTO x SELECT stream_id, version FROM public.crm_events", "handlers.lead.captured.v1"},
		{"drop another report's table", table, `DROP TABLE "` + otherSchema + `".leads_by_source`, "handlers.lead.captured.v1"},
		{"delete another report's rows", table, `DELETE FROM "` + otherSchema + `".leads_by_source`, "handlers.lead.captured.v1"},
		{"drop another report's table in the DDL", table + `; DROP TABLE "` + otherSchema + `".leads_by_source`, "INSERT INTO x VALUES (:stream_id, 1)", "table"},
		{"read pg_authid", table, "INSERT INTO x SELECT rolname, 1 FROM pg_authid", "handlers.lead.captured.v1"},
		{"read the catalog's secrets", table, "INSERT INTO x SELECT role_password, 1 FROM crm_custom_reports", "handlers.lead.captured.v1"},
		{"read a read model", table, "INSERT INTO x SELECT id, 1 FROM " + readmodels.ListsSchemaName + ".leads", "handlers.lead.captured.v1"},
		{"write the checkpoint", table, "UPDATE crm_checkpoint SET position = ''", "handlers.lead.captured.v1"},
		{"invalid SQL", table, "INSERT INTO x VALUES (:stream_id, 1", "handlers.lead.captured.v1"},
		{"unknown column", table, "INSERT INTO x (nope) VALUES (:stream_id)", "handlers.lead.captured.v1"},
		{"unknown parameter", table, "INSERT INTO x VALUES (:streamid, 1)", "handlers.lead.captured.v1"},
		{"two statements", table, "INSERT INTO x VALUES (:stream_id, 1); DELETE FROM x", "handlers.lead.captured.v1"},
		{"not DML", table, "SELECT set_config('session_authorization', 'crm', false)", "handlers.lead.captured.v1"},
		{"table as a query", "CREATE TABLE x AS SELECT * FROM crm_events", "INSERT INTO x VALUES (:stream_id, 1)", "table"},
		{"table like another", "CREATE TABLE x (LIKE public.crm_events)", "INSERT INTO x VALUES (:stream_id, 1)", "table"},
		{"table elsewhere", "CREATE TABLE public.x (k text PRIMARY KEY)", "INSERT INTO x VALUES (:stream_id)", "table"},
		{"no primary key", "CREATE TABLE x (k text)", "INSERT INTO x VALUES (:stream_id)", "table"},
		{"a view", "CREATE VIEW x AS SELECT 1", "INSERT INTO x VALUES (:stream_id)", "table"},
		{"bad DDL", "CREATE TABLE x (k text PRIMARY KEY, n nosuchtype)", "INSERT INTO x VALUES (:stream_id, 1)", "table"},
		{"unknown event type", table, "INSERT INTO x VALUES (:stream_id, 1)", "handlers.lead.captured.v9"},
		// Functions off the allow-list, however they are spelled.
		{"session authorization", table, `WITH s AS (SELECT set_config('session_authorization', 'crm', false) AS v) INSERT INTO x SELECT v, 1 FROM s`, "handlers.lead.captured.v1"},
		{"reset role", table, `WITH s AS (SELECT pg_catalog.set_config('role', 'crm', false) AS v) INSERT INTO x SELECT v, 1 FROM s`, "handlers.lead.captured.v1"},
		{"sleep", table, `INSERT INTO x SELECT :event_id, 1 FROM pg_sleep(5)`, "handlers.lead.captured.v1"},
		{"sleep quoted", table, `INSERT INTO x SELECT :event_id, 1 FROM "pg_catalog"."pg_sleep"(5)`, "handlers.lead.captured.v1"},
		{"sleep in a subquery", table, `INSERT INTO x VALUES (:event_id, (SELECT count(*) FROM pg_sleep_for('5 s')))`, "handlers.lead.captured.v1"},
		{"advisory lock", table, `INSERT INTO x SELECT :stream_id, 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended(:stream_id, 0))) s`, "handlers.lead.captured.v1"},
		{"session advisory lock", table, `INSERT INTO x SELECT :stream_id, 1 WHERE pg_try_advisory_lock(1)`, "handlers.lead.captured.v1"},
		{"catalog through xml", table, `INSERT INTO x SELECT query_to_xml('SELECT rolname FROM pg_roles', true, false, '')::text, 1`, "handlers.lead.captured.v1"},
		{"table through xml", table, `INSERT INTO x SELECT table_to_xml('pg_catalog.pg_class', true, false, '')::text, 1`, "handlers.lead.captured.v1"},
		{"settings", table, `INSERT INTO x SELECT current_setting('data_directory'), 1`, "handlers.lead.captured.v1"},
		{"read a file", table, `INSERT INTO x SELECT pg_read_file('/etc/passwd'), 1`, "handlers.lead.captured.v1"},
		{"large object", table, `INSERT INTO x SELECT lo_creat(-1)::text, 1`, "handlers.lead.captured.v1"},
		{"terminate a backend", table, `INSERT INTO x SELECT pg_terminate_backend(pg_backend_pid())::text, 1`, "handlers.lead.captured.v1"},
		{"cancel a backend", table, `DELETE FROM x WHERE pg_cancel_backend(1)`, "handlers.lead.captured.v1"},
		{"function in a default", "CREATE TABLE x (k text PRIMARY KEY, n bigint DEFAULT pg_backend_pid())", "INSERT INTO x (k) VALUES (:stream_id)", "table"},
		{"sleep in a default", "CREATE TABLE x (k text PRIMARY KEY, n bigint, s text DEFAULT pg_sleep(5)::text)", "INSERT INTO x (k) VALUES (:stream_id)", "table"},
		{"lock in a check", "CREATE TABLE x (k text PRIMARY KEY, n bigint CHECK (pg_try_advisory_lock(n)))", "INSERT INTO x VALUES (:stream_id, 1)", "table"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ := strings.TrimPrefix(c.field, "handlers.")
			if c.field == "table" {
				typ = "lead.captured.v1"
			}
			_, err := e.svc.Create(ctx, customreports.Definition{Name: "escape", Table: c.table, Handlers: map[string]string{typ: c.handler}}, "key:analyst")
			var invalid *customreports.InvalidError
			if !errors.As(err, &invalid) || invalid.Field != c.field {
				t.Fatalf("want a refusal naming %s, got %v", c.field, err)
			}
			t.Log(err)
			if after := e.fingerprint("leads_by_source"); after != before {
				t.Fatalf("something else changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	// What passes validation but breaks out at run time fails the report
	// at that handler and event, and changes nothing else.
	first := e.add("lead.captured.v1", map[string]any{"source": "web", "n": "1"})
	_ = first
	bad := e.add("lead.captured.v1", map[string]any{"source": "web", "n": "not a number"})
	// leads_by_source moved on by two events; take a new fingerprint once
	// it has read them.
	e.wait("leads_by_source")
	before = e.fingerprint("leads_by_source")
	for _, c := range []struct{ name, handler, at string }{
		{"bad value", `INSERT INTO x VALUES (:event_id, (:data.n)::bigint)`, bad.Cursor.String()},
		{"statement time", `INSERT INTO x SELECT :event_id, count(*) FROM generate_series(1, 1000000000)`, ""},
		{"cross join", `INSERT INTO x SELECT :event_id || a.g || b.g, 1 FROM generate_series(1, 100000) a(g), generate_series(1, 100000) b(g)`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := "runtime_" + strings.ReplaceAll(c.name, " ", "_")
			if _, err := e.svc.Create(ctx, customreports.Definition{Name: name, Table: table,
				Handlers: map[string]string{"lead.captured.v1": c.handler}}, "key:analyst"); err != nil {
				t.Fatal(err)
			}
			st := e.wait(name)
			if st.State != "failed" || st.Error == nil || st.Error.Handler != "lead.captured.v1" || st.Error.Position == "" {
				t.Fatalf("want failed at the handler, got %+v %+v", st, st.Error)
			}
			if c.at != "" && st.Error.Position != c.at {
				t.Fatalf("failed at %s, want %s", st.Error.Position, c.at)
			}
			t.Log(st.Error.Message)
			if err := e.svc.Drop(ctx, name); err != nil {
				t.Fatal(err)
			}
			if after := e.fingerprint("leads_by_source"); after != before {
				t.Fatalf("something else changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestReportRoleLogsInWithItsPassword makes the server ask every role but
// the engine's for a SCRAM password, as a server reached with
// --database-url usually does, and runs a report there.
func TestReportRoleLogsInWithItsPassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var hbaFile, engineUser string
	if err := e.pool.QueryRow(ctx, `SELECT current_setting('hba_file'), current_user`).Scan(&hbaFile, &engineUser); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(hbaFile)
	if err != nil {
		t.Skipf("cannot read the server's pg_hba.conf: %v", err)
	}
	reload := func(conf []byte) {
		t.Helper()
		if err := os.WriteFile(hbaFile, conf, 0o600); err != nil {
			t.Fatal(err)
		}
		var ok bool
		if err := e.pool.QueryRow(ctx, `SELECT pg_reload_conf()`).Scan(&ok); err != nil || !ok {
			t.Fatalf("reload: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	conf := fmt.Sprintf("local all %s trust\nhost all %s 127.0.0.1/32 trust\nlocal all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n", engineUser, engineUser)
	reload([]byte(conf))
	t.Cleanup(func() { reload(orig) })

	e.add("lead.captured.v1", map[string]any{"source": "web"})
	if _, err := e.svc.Create(ctx, bySource, "key:analyst"); err != nil {
		t.Fatal(err)
	}
	if st := e.wait("leads_by_source"); st.State != "running" {
		t.Fatalf("status %+v %+v", st, st.Error)
	}
	if got := e.rows("leads_by_source", ""); !strings.Contains(got, `"source":"web"`) {
		t.Fatalf("rows %s", got)
	}
	// The server does ask for the password: a wrong one is refused.
	var role string
	if err := e.pool.QueryRow(ctx, `SELECT role_name FROM crm_custom_reports WHERE name = 'leads_by_source'`).Scan(&role); err != nil {
		t.Fatal(err)
	}
	cfg := e.pool.Config().ConnConfig.Copy()
	cfg.User, cfg.Password = role, "wrong"
	if conn, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		conn.Close(ctx)
		t.Fatal("a wrong password was accepted: the server did not ask for one")
	}
}

// TestEngineWithoutCreateRole: an engine whose database role may not
// create roles gets a clear refusal, and nothing is created.
func TestEngineWithoutCreateRole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	weak := fmt.Sprintf("crm_weak_%d", time.Now().UnixNano()%1e9)
	if _, err := e.pool.Exec(ctx, `CREATE ROLE `+weak+` LOGIN NOSUPERUSER NOCREATEROLE;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_custom_reports, crm_events TO `+weak+`;
GRANT USAGE ON SCHEMA public TO `+weak); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = e.pool.Exec(context.Background(), `DROP OWNED BY `+weak+`; DROP ROLE `+weak)
	})
	cfg := e.pool.Config()
	cfg.ConnConfig.User = weak
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	svc := customreports.New(pool, e.store, customreports.Options{})
	defer svc.Close()
	before := 0
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'crm_rpt_%'`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Create(ctx, bySource, "key:analyst")
	if !errors.Is(err, customreports.ErrSandboxUnavailable) || !strings.Contains(err.Error(), "CREATEROLE") {
		t.Fatalf("want a refusal naming CREATEROLE, got %v", err)
	}
	after := 0
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'crm_rpt_%'`).Scan(&after); err != nil || after != before {
		t.Fatalf("roles before %d, after %d (%v)", before, after, err)
	}
	if list, err := e.svc.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("reports: %v %v", list, err)
	}
}

// TestExactlyOnceAcrossProcesses runs the report in several services at
// once, as several crm serve processes would, stopping them one after
// another mid-replay: each event counts exactly once.
func TestExactlyOnceAcrossProcesses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 3000
	var batch []eventstore.StreamEvents
	for i := range n {
		b, _ := json.Marshal(map[string]any{"source": fmt.Sprintf("s%d", i%7)})
		batch = append(batch, eventstore.StreamEvents{StreamID: fmt.Sprintf("lead-x%d", i), Expected: eventstore.NoStream,
			Events: []eventstore.EventData{{Type: "lead.captured.v1", SchemaVersion: 1, Data: b, Metadata: eventstore.Metadata{Actor: "key:test"}}}})
		if len(batch) == 500 {
			if _, err := e.store.Append(ctx, batch...); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	type proc struct {
		stop context.CancelFunc
		done chan struct{}
	}
	start := func() proc {
		svc := customreports.New(e.pool, e.store, customreports.Options{Poll: 20 * time.Millisecond, BatchSize: 50, Logger: logger})
		c, stop := context.WithCancel(ctx)
		p := proc{stop: stop, done: make(chan struct{})}
		go func() { defer close(p.done); _ = svc.Run(c); svc.Close() }()
		return p
	}
	// The test's own service runs too; three more compete with it.
	procs := []proc{start(), start(), start()}
	if _, err := e.svc.Create(ctx, bySource, "key:analyst"); err != nil {
		t.Fatal(err)
	}
	seen := func() int64 {
		st, err := e.svc.Get(ctx, "leads_by_source")
		if err != nil {
			t.Fatal(err)
		}
		return st.Progress.EventsSeen
	}
	began := time.Now()
	for i, p := range procs {
		t.Logf("%v: %d seen", time.Since(began), seen())
		for limit := int64(n) * int64(i+1) / 5; seen() < limit; {
			time.Sleep(5 * time.Millisecond)
		}
		p.stop()
		<-p.done
	}
	st := e.wait("leads_by_source")
	if st.State != "running" || st.Progress.EventsSeen != n {
		t.Fatalf("status %+v", st)
	}
	var total, rowsN int
	if err := e.pool.QueryRow(ctx, `SELECT sum(n), count(*) FROM `+`"`+roleOf(t, e, "leads_by_source")+`".leads_by_source`).Scan(&total, &rowsN); err != nil {
		t.Fatal(err)
	}
	if total != n || rowsN != 7 {
		t.Fatalf("counted %d events in %d rows, want %d in 7", total, rowsN, n)
	}
}

func roleOf(t *testing.T, e *env, name string) string {
	t.Helper()
	var r string
	if err := e.pool.QueryRow(context.Background(), `SELECT role_name FROM crm_custom_reports WHERE name = $1`, name).Scan(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSizeLimitFailsTheReport: a report that outgrows its limit stops in
// the failed state at the statement that crossed it (not at the end of its
// batch), keeping none of that batch, and gives its disk back: its tables
// are emptied.
func TestSizeLimitFailsTheReport(t *testing.T) {
	e := newEnvWith(t, func(o *customreports.Options) { o.MaxBytes = 200 << 10; o.BatchSize = 10 })
	var evs []eventstore.Event
	for i := range 100 {
		evs = append(evs, e.add("lead.captured.v1", map[string]any{"source": fmt.Sprintf("s%d", i)}))
	}
	d := customreports.Definition{Name: "big", Table: "CREATE TABLE big (k text PRIMARY KEY, filler text NOT NULL)",
		Handlers: map[string]string{"lead.captured.v1": `INSERT INTO big SELECT :event_id, string_agg(md5(g::text || :event_id), '') FROM generate_series(1, 300) g`}}
	if _, err := e.svc.Create(context.Background(), d, "key:analyst"); err != nil {
		t.Fatal(err)
	}
	st := e.wait("big")
	if st.State != "failed" || st.Error == nil || st.Error.Handler != "" || !strings.Contains(st.Error.Message, "limit") {
		t.Fatalf("status %+v %+v", st, st.Error)
	}
	if st.Progress.EventsSeen == 0 || st.Progress.EventsSeen >= 100 || st.Progress.EventsSeen%10 != 0 {
		t.Fatalf("committed %d events; want whole batches before the limit", st.Progress.EventsSeen)
	}
	if last := evs[st.Progress.EventsSeen+9].Cursor.String(); st.Error.Position == last {
		t.Fatalf("failed at the batch's last event %s: the limit was checked only after the whole batch", last)
	}
	t.Log(st.Error.Message, st.Progress.EventsSeen, st.Error.Position)
	e.releasedDisk("big", "big")
	var settings []string
	if err := e.pool.QueryRow(context.Background(), `SELECT coalesce((SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = 0 AND setrole = $1::regrole), '{}')`,
		pgx.Identifier{roleOf(t, e, "big")}.Sanitize()).Scan(&settings); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(settings, "temp_file_limit=200kB") {
		t.Fatalf("the report's role has settings %v, want temp_file_limit=200kB", settings)
	}

	// One statement far over the limit stops at its own event.
	huge := customreports.Definition{Name: "huge", Table: "CREATE TABLE huge (k text PRIMARY KEY, filler text NOT NULL)",
		Handlers: map[string]string{"lead.captured.v1": `INSERT INTO huge SELECT :event_id || g, string_agg(md5(g::text || h::text), '')
FROM generate_series(1, 200) g, generate_series(1, 20) h GROUP BY g`}}
	if _, err := e.svc.Create(context.Background(), huge, "key:analyst"); err != nil {
		t.Fatal(err)
	}
	st = e.wait("huge")
	if st.State != "failed" || st.Error == nil || st.Error.Position != evs[0].Cursor.String() || st.Progress.EventsSeen != 0 {
		t.Fatalf("want failed at the first event, got %+v %+v", st, st.Error)
	}
	e.releasedDisk("huge", "huge")
}

// releasedDisk checks that a failed report's table is empty and small.
func (e *env) releasedDisk(name, table string) {
	e.t.Helper()
	ctx := context.Background()
	var schema string
	if err := e.pool.QueryRow(ctx, `SELECT schema_name FROM crm_custom_reports WHERE name = $1`, name).Scan(&schema); err != nil {
		e.t.Fatal(err)
	}
	rel := pgx.Identifier{schema, table}.Sanitize()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var rows, size int64
		if err := e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM `+rel+`), pg_total_relation_size($1::regclass)`, rel).Scan(&rows, &size); err != nil {
			e.t.Fatal(err)
		}
		if rows == 0 && size < 64<<10 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the failed report %s still holds %d rows in %d bytes", name, rows, size)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A cursor the key columns refuse is the client's error, not the server's;
// and no more reports exist at once than Options.MaxReports.
func TestBadCursorValuesAndTheReportLimit(t *testing.T) {
	e := newEnvWith(t, func(o *customreports.Options) { o.MaxReports = 1 })
	for range 3 {
		e.add("lead.captured.v1", map[string]any{"source": "web"})
	}
	byVersion := customreports.Definition{Name: "by_version", Table: "CREATE TABLE by_version (v int PRIMARY KEY)",
		Handlers: map[string]string{"lead.captured.v1": `INSERT INTO by_version VALUES (:version::int) ON CONFLICT DO NOTHING`}}
	if _, err := e.svc.Create(context.Background(), byVersion, "key:analyst"); err != nil {
		t.Fatal(err)
	}
	e.wait("by_version")
	cursor := base64.RawURLEncoding.EncodeToString([]byte(`{"v":"not a number"}`))
	var invalid *customreports.InvalidError
	if _, err := e.svc.Rows(context.Background(), "by_version", "", cursor, 10); !errors.As(err, &invalid) || invalid.Field != "cursor" {
		t.Fatalf("cursor with a value the key refuses: %v", err)
	}
	if _, err := e.svc.Create(context.Background(), bySource, "key:analyst"); !errors.Is(err, customreports.ErrTooMany) {
		t.Fatalf("a report over the limit: %v", err)
	}
	var roles int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'crm_rpt_leads_by_source%'`).Scan(&roles); err != nil || roles != 0 {
		t.Fatalf("the refused report left %d roles (%v)", roles, err)
	}
}

// TestSlowBatchesAreSplit: a batch whose transaction would outlast the
// batch time limit holds back every reader of the log while it runs; it is
// cut, rolled back and applied again in smaller batches, so an event
// appended meanwhile becomes readable within the limit (here within a
// generous multiple of it, where a whole batch takes many times longer),
// and the report still counts every event exactly once.
func TestSlowBatchesAreSplit(t *testing.T) {
	e := newEnvWith(t, func(o *customreports.Options) {
		o.BatchSize = 128
		o.BatchTimeout = 2 * time.Second
		o.StatementTimeout = 2 * time.Second
	})
	ctx := context.Background()
	const n = 128
	for range n {
		e.add("lead.captured.v1", map[string]any{"source": "web"})
	}
	// Each event costs about a tenth of a second: a batch of 128 takes
	// many seconds, a batch of a few well under the limit.
	d := customreports.Definition{Name: "slow", Table: "CREATE TABLE slow (k text PRIMARY KEY, n bigint NOT NULL)",
		Handlers: map[string]string{"lead.captured.v1": `INSERT INTO slow SELECT :data.source, 1 + 0 * count(*) FROM generate_series(1, 600000)
ON CONFLICT (k) DO UPDATE SET n = slow.n + 1`}}
	if _, err := e.svc.Create(ctx, d, "key:analyst"); err != nil {
		t.Fatal(err)
	}
	role := roleOf(t, e, "slow")
	// Once a batch holds the horizon, append an event and read the log.
	deadline := time.Now().Add(time.Minute)
	for {
		var writing bool
		if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND backend_xid IS NOT NULL)`, role).Scan(&writing); err != nil {
			t.Fatal(err)
		}
		if writing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the report never started a batch")
		}
		time.Sleep(10 * time.Millisecond)
	}
	marker := e.add("opportunity.opened.v1", map[string]any{"opportunity_id": "o-marker"})
	seen := false
	for readDeadline := time.Now().Add(8 * time.Second); !seen && time.Now().Before(readDeadline); {
		evs, err := e.store.ReadAll(ctx, eventstore.Cursor{}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			seen = seen || ev.ID == marker.ID
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !seen {
		t.Fatal("an event appended while the report ran stayed unreadable for 8 s: the report's batch held the log's horizon")
	}
	deadline = time.Now().Add(2 * time.Minute)
	for {
		st, err := e.svc.Get(ctx, "slow")
		if err != nil {
			t.Fatal(err)
		}
		if st.State == "failed" {
			t.Fatalf("failed: %+v", st.Error)
		}
		if st.Progress.CaughtUp {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not caught up: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := e.rows("slow", ""); !strings.Contains(got, fmt.Sprintf(`"n":%d`, n)) {
		t.Fatalf("rows %s, want n = %d", got, n)
	}
}
