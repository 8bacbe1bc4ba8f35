package customreports_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/customreports"
	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/pgmigrate"
	"crm/testdb"
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
	t     *testing.T
	pool  *pgxpool.Pool
	store *postgres.Store
	svc   *customreports.Service
	clock *clock
	seq   int
}

var t0 = time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
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
		"ticket.opened.v1", "ticket.responded.v1", "ticket.resolved.v1"}
	svc := customreports.New(pool, store, customreports.Options{Types: types, Poll: 50 * time.Millisecond, BatchSize: 100,
		StatementTimeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	want := `[{"n":1,"source":"event","last_at":"2026-03-31T12:00:00+00:00"},{"n":1,"source":"referral","last_at":"2026-03-31T12:00:00+00:00"},{"n":3,"source":"web","last_at":"2026-03-31T12:00:00+00:00"}]`
	if got := e.rows("leads_by_source", ""); got != want {
		t.Fatalf("rows\n got %s\nwant %s", got, want)
	}
	// It follows the log live.
	e.add("lead.captured.v1", map[string]any{"source": "referral"})
	e.wait("leads_by_source")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.rows("leads_by_source", ""), `{"n":2,"source":"referral"`) {
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
	want := `[{"n":1,"source":"referral","last_at":"2026-03-31T12:00:00+00:00"},{"n":2,"source":"web","last_at":"2026-03-31T12:00:00+00:00"}]`
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
