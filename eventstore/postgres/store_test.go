package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/eventstoretest"
	"crm/eventstore/postgres"
	"crm/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// newPool connects to a fresh database with the event store migrated.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 24
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

func harness() eventstoretest.Harness {
	return eventstoretest.Harness{
		New: func(t testing.TB, clock func() time.Time) eventstore.Store {
			return postgres.New(newPool(t), postgres.Options{Clock: clock})
		},
		AppendAborted: func(ctx context.Context, s eventstore.Store, streams ...eventstore.StreamEvents) error {
			ps := s.(*postgres.Store)
			tx, err := ps.Pool().Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(ctx) //nolint:errcheck
			if _, err := ps.AppendTx(ctx, tx, streams...); err != nil {
				return err
			}
			return tx.Rollback(ctx)
		},
		AppendHeld: func(ctx context.Context, s eventstore.Store, hold time.Duration, streams ...eventstore.StreamEvents) (eventstore.AppendResult, error) {
			ps := s.(*postgres.Store)
			tx, err := ps.Pool().Begin(ctx)
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			defer tx.Rollback(ctx) //nolint:errcheck
			res, err := ps.AppendTx(ctx, tx, streams...)
			if err != nil {
				return res, err
			}
			time.Sleep(hold)
			if err := tx.Commit(ctx); err != nil {
				return res, err
			}
			ps.Committed()
			return res, nil
		},
	}
}

func TestContract(t *testing.T) {
	eventstoretest.Run(t, harness())
}

// TestOrderingTestCatchesNaiveReader shows that the ordering test fails a
// reader that pages by "position > last" alone: the event of a transaction
// held open while later appends commit is skipped.
func TestOrderingTestCatchesNaiveReader(t *testing.T) {
	h := harness()
	h.Writers, h.AppendsPerWriter = 4, 300
	h.New = func(t testing.TB, clock func() time.Time) eventstore.Store {
		s := postgres.New(newPool(t), postgres.Options{Clock: clock})
		postgres.UseNaiveReads(s)
		return s
	}
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { _ = recover() }()
		eventstoretest.RunOrderingUnderFire(rec, h)
	}()
	<-done
	if !rec.failed {
		t.Fatal("the ordering test passed a naive position reader; it must catch the skipped events")
	}
	if !strings.Contains(rec.msg, "skipped") {
		t.Fatalf("the ordering test failed the naive reader for another reason: %s", rec.msg)
	}
	t.Logf("naive reader caught: %s", rec.msg)
}

// recorder is a testing.TB that records a failure instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fail(format, args...)
	panic(errors.New("fatal"))
}
func (r *recorder) Fatal(args ...any)                 { r.Fatalf("%v", args...) }
func (r *recorder) Errorf(format string, args ...any) { r.fail(format, args...) }
func (r *recorder) fail(format string, args ...any) {
	if !r.failed {
		r.failed = true
		r.msg = strings.TrimSpace(fmt.Sprintf(format, args...))
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	pool := newPool(t)
	s := postgres.New(pool, postgres.Options{})
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Append(ctx, eventstore.StreamEvents{StreamID: "lead-1", Expected: eventstore.NoStream,
		Events: []eventstore.EventData{eventstoretest.Event("lead.captured.v1", `{"name":"Ada"}`)}}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE crm_events SET data = '{"name":"Eve"}'`,
		`UPDATE crm_events SET actor = 'x' WHERE false`,
		`DELETE FROM crm_events`,
		`TRUNCATE crm_events`,
		`TRUNCATE crm_events CASCADE`,
	} {
		_, err := pool.Exec(ctx, stmt)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want an append-only refusal", stmt, err)
		}
	}
	evs, err := s.ReadStream(ctx, "lead-1", eventstore.ReadOptions{})
	if err != nil || len(evs) != 1 || !strings.Contains(string(evs[0].Data), "Ada") {
		t.Fatalf("event changed or lost: %v %v", evs, err)
	}
}

func TestAppendTxMustBeFirstWrite(t *testing.T) {
	pool := newPool(t)
	s := postgres.New(pool, postgres.Options{})
	defer s.Close()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE scratch (x int); INSERT INTO scratch VALUES (1)`); err != nil {
			return err
		}
		_, err := s.AppendTx(ctx, tx, eventstore.StreamEvents{StreamID: "s-1", Expected: eventstore.Any,
			Events: []eventstore.EventData{eventstoretest.Event("a.v1", `{}`)}})
		return err
	})
	if !errors.Is(err, postgres.ErrNotFirstWrite) {
		t.Fatalf("got %v, want ErrNotFirstWrite", err)
	}
	// Writes after the append commit together with it.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := s.AppendTx(ctx, tx, eventstore.StreamEvents{StreamID: "s-1", Expected: eventstore.NoStream,
			Events: []eventstore.EventData{eventstoretest.Event("a.v1", `{}`)}}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE side_effect (x int)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Committed()
	if evs, err := s.ReadStream(ctx, "s-1", eventstore.ReadOptions{}); err != nil || len(evs) != 1 {
		t.Fatalf("read: %d events, %v", len(evs), err)
	}
}

// TestWakeUpAcrossProcesses: a follower on another store (as in another
// process) learns of an append through NOTIFY long before its poll interval.
func TestWakeUpAcrossProcesses(t *testing.T) {
	pool := newPool(t)
	writer := postgres.New(pool, postgres.Options{})
	defer writer.Close()
	otherPool, err := pgxpool.New(context.Background(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer otherPool.Close()
	follower := postgres.New(otherPool, postgres.Options{PollInterval: time.Minute})
	defer follower.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan time.Time, 10)
	go func() {
		_ = follower.Subscribe(ctx, eventstore.SubscribeOptions{}, func(_ context.Context, b []eventstore.Event) error {
			for range b {
				got <- time.Now()
			}
			return nil
		})
	}()
	// Let the subscriber reach its first long wait, and the listener start.
	time.Sleep(500 * time.Millisecond)
	for i := range 3 {
		start := time.Now()
		if _, err := writer.Append(ctx, eventstore.StreamEvents{StreamID: "w-1", Expected: eventstore.Any,
			Events: []eventstore.EventData{eventstoretest.Event("a.v1", `{}`)}}); err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-got:
			if d := at.Sub(start); d > 5*time.Second {
				t.Errorf("append %d reached the other store after %v", i, d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("append %d never reached the other store (poll interval is a minute)", i)
		}
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	cur, latest, err := postgres.MigrationStatus(ctx, pool)
	if err != nil || cur != latest || latest < 1 {
		t.Fatalf("status %d/%d, %v", cur, latest, err)
	}
}

func TestClosedStoreRefusesWork(t *testing.T) {
	s := postgres.New(newPool(t), postgres.Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	_, err := s.Append(context.Background(), eventstore.StreamEvents{StreamID: "x", Expected: eventstore.Any,
		Events: []eventstore.EventData{eventstoretest.Event("a.v1", `{}`)}})
	if !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	err = s.Subscribe(context.Background(), eventstore.SubscribeOptions{}, func(context.Context, []eventstore.Event) error { return nil })
	if !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("subscribe after close: %v", err)
	}
}
