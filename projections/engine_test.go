package projections

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/pgmigrate"
)

// seen records every event it is given; it fails on events of type failOn.
type seen struct {
	failOn atomic.Value // string
}

func (*seen) Name() string { return "seen" }

func (*seen) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `CREATE TABLE seen (event_id uuid PRIMARY KEY, position text NOT NULL, type text NOT NULL)`)
	return err
}

func (s *seen) Apply(ctx context.Context, tx pgx.Tx, events []Event) error {
	ids := make([]string, len(events))
	pos := make([]string, len(events))
	types := make([]string, len(events))
	for i, e := range events {
		if f, _ := s.failOn.Load().(string); f != "" && e.Type == f {
			return fmt.Errorf("cannot project %s", e.Type)
		}
		ids[i], pos[i], types[i] = e.ID.String(), e.Cursor.String(), e.Type
	}
	_, err := tx.Exec(ctx, `INSERT INTO seen SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])`, ids, pos, types)
	return err
}

// testLogOut receives the engines' logs; os.Stderr helps when debugging.
var testLogOut io.Writer = io.Discard

type engineEnv struct {
	pool  *pgxpool.Pool
	store *postgres.Store
	codec *eventstore.Registry
}

func newEngineEnv(t *testing.T) *engineEnv {
	t.Helper()
	pool := newTestPool(t)
	ctx := context.Background()
	for _, err := range []error{postgres.Migrate(ctx, pool), pgmigrate.Migrate(ctx, pool, Migrations)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	store := postgres.New(pool, postgres.Options{PollInterval: 50 * time.Millisecond})
	t.Cleanup(func() { store.Close() })
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return &engineEnv{pool: pool, store: store, codec: codec}
}

func (e *engineEnv) engine(p Projector, owner string) *Engine {
	return New(e.pool, e.store, e.codec, []Projector{p}, Options{BatchSize: 100, StandbyRetry: 50 * time.Millisecond,
		FailedRetry: 100 * time.Millisecond, Owner: owner, Logger: slog.New(slog.NewTextHandler(testLogOut, nil))})
}

// appendN appends n single-event streams of type typ and returns the
// last position.
func (e *engineEnv) appendN(t *testing.T, n int, typ string) string {
	t.Helper()
	var last string
	for i := range n {
		res, err := e.store.Append(context.Background(), eventstore.StreamEvents{
			StreamID: fmt.Sprintf("%s-%d-%d", typ, time.Now().UnixNano(), i), Expected: eventstore.NoStream,
			Events: []eventstore.EventData{{Type: typ, SchemaVersion: 1, Data: []byte(`{}`), Metadata: eventstore.Metadata{Actor: "test"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position.String()
	}
	return last
}

func (e *engineEnv) seenCount(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM rm_seen.seen`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, eng *Engine, pos string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := eng.WaitFor(ctx, pos); err != nil {
		t.Fatalf("projector did not reach %s: %v", pos, err)
	}
}

func start(t *testing.T, eng *Engine) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = eng.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

func TestEngineCatchesUpThenFollows(t *testing.T) {
	e := newEngineEnv(t)
	e.appendN(t, 250, "lead.noted.v1")
	eng := e.engine(&seen{}, "a")
	start(t, eng)
	waitFor(t, eng, e.appendN(t, 1, "lead.noted.v1"))
	live := e.appendN(t, 30, "lead.noted.v1")
	waitFor(t, eng, live)
	if n := e.seenCount(t); n != 281 {
		t.Fatalf("projected %d events, want 281", n)
	}
	st, err := eng.Status(context.Background())
	if err != nil || len(st) != 1 || !st[0].CaughtUp || st[0].EventsApplied != 281 || st[0].State != "running" {
		t.Fatalf("status %+v %v", st, err)
	}
}

func TestEngineStopsAtAFailingEventAndResumesAfterAFix(t *testing.T) {
	e := newEngineEnv(t)
	p := &seen{}
	p.failOn.Store("lead.bad.v1")
	e.appendN(t, 10, "lead.ok.v1")
	bad := e.appendN(t, 1, "lead.bad.v1")
	last := e.appendN(t, 10, "lead.ok.v1")
	eng := e.engine(p, "a")
	start(t, eng)
	deadline := time.Now().Add(10 * time.Second)
	var st []Status
	for time.Now().Before(deadline) {
		st, _ = eng.Status(context.Background())
		if len(st) == 1 && st[0].State == "failed" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st[0].State != "failed" || st[0].ErrorPosition == nil || *st[0].ErrorPosition != bad || st[0].Error == nil {
		t.Fatalf("status after failure: %+v", st[0])
	}
	if n := e.seenCount(t); n != 10 {
		t.Fatalf("%d events applied before the failing one, want 10", n)
	}
	p.failOn.Store("")
	waitFor(t, eng, last)
	if n := e.seenCount(t); n != 21 {
		t.Fatalf("%d events after the fix, want 21 (nothing skipped)", n)
	}
}

// TestEngineStopsAtAnUndecodableKnownEvent checks that a known event type
// whose data does not decode stops the projector at its position, with the
// decoding error in its status, while unknown types are passed over.
func TestEngineStopsAtAnUndecodableKnownEvent(t *testing.T) {
	cases := []struct{ name, typ, data, reason string }{
		{"data that does not decode", "lead.captured.v1", `{"lead_id": 42}`, "decode lead.captured.v1"},
		{"a version newer than this binary reads", "lead.captured.v9", `{}`, "lead.captured.v9 is newer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEngineEnv(t)
			e.appendN(t, 5, "lead.unheard_of.v1")
			res, err := e.store.Append(context.Background(), eventstore.StreamEvents{
				StreamID: "lead-undecodable", Expected: eventstore.NoStream,
				Events: []eventstore.EventData{{Type: c.typ, SchemaVersion: 1, Data: []byte(c.data), Metadata: eventstore.Metadata{Actor: "test"}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			bad := res.Position.String()
			e.appendN(t, 5, "lead.unheard_of.v1")
			eng := e.engine(&seen{}, "a")
			start(t, eng)
			deadline := time.Now().Add(10 * time.Second)
			var st []Status
			for time.Now().Before(deadline) {
				st, _ = eng.Status(context.Background())
				if len(st) == 1 && st[0].State == "failed" {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(st) != 1 || st[0].State != "failed" || st[0].ErrorPosition == nil || *st[0].ErrorPosition != bad ||
				st[0].Error == nil || !strings.Contains(*st[0].Error, c.reason) {
				t.Fatalf("status after an undecodable event: %+v", st)
			}
			// Past its retry interval the projector is still stopped there.
			time.Sleep(300 * time.Millisecond)
			if n := e.seenCount(t); n != 5 {
				t.Fatalf("%d events applied, want the 5 unknown ones before the undecodable event", n)
			}
			if st, _ = eng.Status(context.Background()); st[0].State != "failed" || st[0].Checkpoint == bad {
				t.Fatalf("status after a retry: %+v", st[0])
			}
		})
	}
}

// TestStandbyTakesOver runs two engines on one database: one holds the
// projector, the other stands by and takes over when the first stops; no
// event is applied twice (the table's primary key would refuse it).
func TestStandbyTakesOver(t *testing.T) {
	e := newEngineEnv(t)
	first, second := e.engine(&seen{}, "first"), e.engine(&seen{}, "second")
	stopFirst := start(t, first)
	waitFor(t, first, e.appendN(t, 50, "lead.noted.v1"))
	start(t, second)
	time.Sleep(200 * time.Millisecond)
	st, _ := second.Status(context.Background())
	if st[0].Owner == nil || *st[0].Owner != "first" {
		t.Fatalf("owner %v, want first", st[0].Owner)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.appendN(t, 200, "lead.noted.v1") }()
	time.Sleep(30 * time.Millisecond)
	stopFirst()
	wg.Wait()
	last := e.appendN(t, 1, "lead.noted.v1")
	waitFor(t, second, last)
	st, _ = second.Status(context.Background())
	if st[0].Owner == nil || *st[0].Owner != "second" {
		t.Fatalf("owner after failover %v, want second", st[0].Owner)
	}
	if n := e.seenCount(t); n != 251 {
		t.Fatalf("%d events, want 251", n)
	}
}

func TestRebuildSwapsWithoutLosingLiveEvents(t *testing.T) {
	e := newEngineEnv(t)
	eng := e.engine(&seen{}, "a")
	start(t, eng)
	waitFor(t, eng, e.appendN(t, 300, "lead.noted.v1"))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var appended atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			e.appendN(t, 1, "lead.noted.v1")
			appended.Add(1)
		}
	}()
	var calls int
	if err := eng.Rebuild(context.Background(), "seen", func(done, total int64) { calls++ }); err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
	last := e.appendN(t, 1, "lead.noted.v1")
	waitFor(t, eng, last)
	want := 300 + int(appended.Load()) + 1
	if n := e.seenCount(t); n != want {
		t.Fatalf("%d events after rebuild, want %d", n, want)
	}
	if calls == 0 {
		t.Error("no progress reported")
	}
	var shadows int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rm_seen_%'`).Scan(&shadows)
	if shadows != 0 {
		t.Errorf("%d shadow schemas left behind", shadows)
	}
	if err := eng.Rebuild(context.Background(), "nope", nil); err == nil {
		t.Error("rebuilding an unknown projector succeeded")
	}
}

// seenV2 is seen after an upgrade that added a column and an index.
type seenV2 struct{ seen }

func (*seenV2) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `CREATE TABLE seen (event_id uuid PRIMARY KEY, position text NOT NULL, type text NOT NULL, kind text NOT NULL DEFAULT 'v2');
CREATE INDEX seen_kind ON seen (kind)`)
	return err
}

func TestChangedSchemaIsRebuiltBeforeFollowing(t *testing.T) {
	e := newEngineEnv(t)
	e.appendN(t, 40, "lead.noted.v1")
	eng := e.engine(&seen{}, "a")
	stop := start(t, eng)
	waitFor(t, eng, e.appendN(t, 1, "lead.noted.v1"))
	stop()

	// The same definition again: no rebuild.
	same := e.engine(&seen{}, "a")
	changed, err := same.schemaChanged(context.Background(), e.pool, &seen{})
	if err != nil || changed {
		t.Fatalf("unchanged definition reported changed=%v err=%v", changed, err)
	}

	e.appendN(t, 9, "lead.noted.v1")
	up := e.engine(&seenV2{}, "b")
	if changed, err := up.schemaChanged(context.Background(), e.pool, &seenV2{}); err != nil || !changed {
		t.Fatalf("added column reported changed=%v err=%v", changed, err)
	}
	start(t, up)
	waitFor(t, up, e.appendN(t, 1, "lead.noted.v1"))
	var kinds int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM rm_seen.seen WHERE kind = 'v2'`).Scan(&kinds); err != nil {
		t.Fatalf("the live schema has no new column after the upgrade: %v", err)
	}
	if n := e.seenCount(t); n != 51 || kinds != 51 {
		t.Fatalf("after the upgrade %d rows, %d with the new column; want 51", n, kinds)
	}
	if changed, err := up.schemaChanged(context.Background(), e.pool, &seenV2{}); err != nil || changed {
		t.Fatalf("rebuilt schema still reported changed=%v err=%v", changed, err)
	}
	var probes int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rm_seen_%'`).Scan(&probes); err != nil || probes != 0 {
		t.Fatalf("%d scratch schemas left behind (%v)", probes, err)
	}
}

func TestBuiltInSchemasMatchTheirDefinitionAfterCreateAndRebuild(t *testing.T) {
	e := newEngineEnv(t)
	e.appendN(t, 5, "lead.noted.v1")
	ctx := context.Background()
	for _, p := range All() {
		eng := e.engine(p, "a")
		if _, err := eng.ensure(ctx, p); err != nil {
			t.Fatal(err)
		}
		if changed, err := eng.schemaChanged(ctx, e.pool, p); err != nil || changed {
			t.Fatalf("%s: freshly created schema reported changed=%v err=%v", p.Name(), changed, err)
		}
		if err := eng.Rebuild(ctx, p.Name(), nil); err != nil {
			t.Fatal(err)
		}
		if changed, err := eng.schemaChanged(ctx, e.pool, p); err != nil || changed {
			t.Fatalf("%s: rebuilt schema reported changed=%v err=%v", p.Name(), changed, err)
		}
	}
}

func TestListsHaveTrigramSearchIndexesWherePgTrgmIsInstalled(t *testing.T) {
	e := newEngineEnv(t)
	ctx := context.Background()
	var installed bool
	if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')`).Scan(&installed); err != nil {
		t.Fatal(err)
	}
	if !installed {
		if os.Getenv("CI") != "" {
			t.Fatal("the projections migrations did not install pg_trgm")
		}
		t.Skip("pg_trgm is not available on this server: the lists are built without search indexes")
	}
	eng := e.engine(NewLists(), "a")
	if _, err := eng.ensure(ctx, NewLists()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'rm_lists' AND indexname LIKE '%\_text'
		AND indexdef LIKE '%gin_trgm_ops%'`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("%d trigram indexes in rm_lists (%v), want 5", n, err)
	}
}
