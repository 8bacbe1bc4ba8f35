package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/pgmigrate"
	"crm/internal/testdb"
	"crm/workflows"
)

// forwarderLog is a fresh database with the event store and the
// workflows migrated, its store and the domain codec.
func forwarderLog(t testing.TB) (*pgxpool.Pool, *postgres.Store, *eventstore.Registry) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, set := range []pgmigrate.Set{postgres.Migrations, workflows.Migrations} {
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
	return pool, store, codec
}

// counter is an automation that counts the events it sees, per event id.
type counter struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *counter) Name() string { return "counter" }

func (c *counter) Handle(_ context.Context, ev workflows.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[ev.ID.String()]++
	return nil
}

func (c *counter) counts() (events, deliveries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.seen {
		deliveries += n
	}
	return len(c.seen), deliveries
}

// TestOneForwarderAtATimeWithTakeover runs two backbones (two processes)
// on one database: only the lock holder forwards, every event reaches
// the automations once, and when the holder stops the other takes over
// from the checkpoint.
func TestOneForwarderAtATimeWithTakeover(t *testing.T) {
	ctx := context.Background()
	pool, store, codec := forwarderLog(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := &counter{seen: map[string]int{}}
	type proc struct {
		stop context.CancelFunc
		done chan struct{}
	}
	start := func(owner string) proc {
		b, err := workflows.New(pool, store, codec, workflows.Options{Logger: logger, Owner: owner, StandbyRetry: 50 * time.Millisecond, BatchSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		b.AddAutomation(c)
		rctx, stop := context.WithCancel(ctx)
		p := proc{stop: stop, done: make(chan struct{})}
		go func() { defer close(p.done); _ = b.Run(rctx) }()
		return p
	}
	appendN := func(from, n int) {
		for i := from; i < from+n; i++ {
			data, _ := json.Marshal(map[string]any{"note": i})
			if _, err := store.Append(ctx, eventstore.StreamEvents{StreamID: fmt.Sprintf("note-%d", i%5), Expected: eventstore.Any,
				Events: []eventstore.EventData{{Type: "note.added.v1", SchemaVersion: 1, Data: data, Metadata: eventstore.Metadata{Actor: "test"}}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	owner := func() string {
		var o string
		_ = pool.QueryRow(ctx, `SELECT coalesce(owner, '') FROM crm_workflow_checkpoints WHERE name = 'forwarder'`).Scan(&o)
		return o
	}
	waitCounts := func(want int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			events, deliveries := c.counts()
			if events == want && deliveries == want {
				return
			}
			if events > want || deliveries > events {
				t.Fatalf("%d events delivered %d times, want %d once each", events, deliveries, want)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d events delivered", events, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	appendN(0, 40)
	a := start("A")
	deadline := time.Now().Add(10 * time.Second)
	for owner() != "A" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b := start("B")
	appendN(40, 60)
	waitCounts(100)
	if o := owner(); o != "A" {
		t.Fatalf("forwarder owner %q, want A (B stands by)", o)
	}
	// A stops cleanly; B takes over from the checkpoint.
	a.stop()
	<-a.done
	appendN(100, 50)
	waitCounts(150)
	if o := owner(); o != "B" {
		t.Fatalf("forwarder owner %q after A stopped, want B", o)
	}
	b.stop()
	<-b.done
}

// BenchmarkForwarder measures how fast committed events reach an
// automation: b.N events are appended up front, and the clock runs until
// the automation has seen them all.
func BenchmarkForwarder(b *testing.B) {
	ctx := context.Background()
	pool, store, codec := forwarderLog(b)
	for i := 0; i < b.N; i += 100 {
		var evs []eventstore.EventData
		for j := i; j < min(i+100, b.N); j++ {
			evs = append(evs, eventstore.EventData{Type: "note.added.v1", SchemaVersion: 1, Data: json.RawMessage(`{}`), Metadata: eventstore.Metadata{Actor: "bench"}})
		}
		if _, err := store.Append(ctx, eventstore.StreamEvents{StreamID: fmt.Sprintf("note-%d", i), Expected: eventstore.NoStream, Events: evs}); err != nil {
			b.Fatal(err)
		}
	}
	c := &counter{seen: map[string]int{}}
	bb, err := workflows.New(pool, store, codec, workflows.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	bb.AddAutomation(c)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	b.ResetTimer()
	go func() { defer close(done); _ = bb.Run(rctx) }()
	for {
		if n, _ := c.counts(); n == b.N {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	stop()
	<-done
}
