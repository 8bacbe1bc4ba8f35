package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"crm/eventstore"
	"crm/eventstore/postgres"
)

func one(stream string, expected int64, types ...string) []eventstore.StreamEvents {
	st := eventstore.StreamEvents{StreamID: stream, Expected: eventstore.Exact(expected)}
	for _, t := range types {
		st.Events = append(st.Events, eventstore.EventData{Type: t, SchemaVersion: 1, Data: []byte(`{"n":1}`),
			Metadata: eventstore.Metadata{Actor: "user:test", CommandID: "c-" + stream}})
	}
	return []eventstore.StreamEvents{st}
}

// TestGroupWithAConflict: in one group, an append whose stream moved
// (before the group, or by an earlier append of the group) gets its own
// version conflict and stores nothing; the others are stored, in order,
// hash-chained as if appended one by one.
func TestGroupWithAConflict(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := postgres.New(pool, postgres.Options{})
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Append(ctx, one("y", 0, "a.v1", "b.v1")...); err != nil {
		t.Fatal(err)
	}
	both := append(one("p", 0, "p.v1"), one("q", 0, "q.v1")...)
	res, errs, err := postgres.AppendGroup(s,
		one("x", 0, "first.v1", "second.v1"), // stored: x at 2
		one("x", 0, "late.v1"),               // x moved within the group
		one("y", 5, "wrong.v1"),              // y is at 2
		one("x", 2, "third.v1"),              // follows the first: x at 3
		both,                                 // two streams, stored together
	)
	if err != nil {
		t.Fatal(err)
	}
	var conflict *eventstore.VersionConflictError
	if !errors.As(errs[1], &conflict) || conflict.StreamID != "x" || conflict.Actual != 2 || conflict.Expected != 0 {
		t.Fatalf("second append: %v, want a conflict on x at 2 expecting 0", errs[1])
	}
	if !errors.As(errs[2], &conflict) || conflict.StreamID != "y" || conflict.Actual != 2 {
		t.Fatalf("third append: %v, want a conflict on y at 2", errs[2])
	}
	for _, i := range []int{0, 3, 4} {
		if errs[i] != nil {
			t.Fatalf("append %d: %v", i, errs[i])
		}
	}
	if v := res[0].Events[1].Version; v != 2 || res[3].Events[0].Version != 3 || len(res[4].Events) != 2 {
		t.Fatalf("versions: first %d, fourth %d, fifth %d events", v, res[3].Events[0].Version, len(res[4].Events))
	}
	if !res[3].Events[0].Cursor.After(res[0].Position) {
		t.Fatalf("x's third event at %s is not after its second at %s", res[3].Events[0].Cursor, res[0].Position)
	}
	x, err := s.ReadStream(ctx, "x", eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range x {
		got = append(got, fmt.Sprintf("%d:%s", e.Version, e.Type))
	}
	if fmt.Sprint(got) != "[1:first.v1 2:second.v1 3:third.v1]" {
		t.Fatalf("stream x holds %v", got)
	}
	var broken int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_events e LEFT JOIN crm_events p ON p.stream_id = e.stream_id AND p.version = e.version - 1
WHERE e.hash IS DISTINCT FROM crm_event_hash(p.hash, e.event_id, e.stream_id, e.version, e.type, e.schema_version, e.actor,
  e.command_id, e.correlation_id, e.causation_id, e.recorded_at, e.data)`).Scan(&broken); err != nil {
		t.Fatal(err)
	}
	if broken != 0 {
		t.Fatalf("%d events break their stream's hash chain", broken)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_events`).Scan(&n); err != nil || n != 2+2+1+2 {
		t.Fatalf("log holds %d events (%v), want 7", n, err)
	}
}

// TestConcurrentAppendsGrouped: many writers at once, each on its own
// stream and all on one shared stream: every append is stored once or
// refused as a conflict, the shared stream is numbered without a gap, and
// appends shared transactions.
func TestConcurrentAppendsGrouped(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := postgres.New(pool, postgres.Options{})
	t.Cleanup(func() { _ = s.Close() })
	const writers, each = 16, 20
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		shared   int
		failures []error
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.Append(ctx, one(fmt.Sprintf("own-%d", w), int64(i), "own.v1")...); err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
				// The shared stream: read its version, append after it;
				// a conflict is the expected outcome of a race.
				evs, err := s.ReadStream(ctx, "shared", eventstore.ReadOptions{})
				if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					continue
				}
				_, err = s.Append(ctx, one("shared", int64(len(evs)), "shared.v1")...)
				mu.Lock()
				switch {
				case err == nil:
					shared++
				case !errors.Is(err, eventstore.ErrVersionConflict):
					failures = append(failures, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d appends failed, first: %v", len(failures), failures[0])
	}
	var own, sharedRows, maxVersion, gaps, grouped int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE stream_id LIKE 'own-%'), count(*) FILTER (WHERE stream_id = 'shared'),
  coalesce(max(version) FILTER (WHERE stream_id = 'shared'), 0)
FROM crm_events`).Scan(&own, &sharedRows, &maxVersion); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT stream_id, version, lag(version) OVER (PARTITION BY stream_id ORDER BY transaction_id, position) AS prev
FROM crm_events) x WHERE version <> coalesce(prev, 0) + 1`).Scan(&gaps); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT transaction_id FROM crm_events GROUP BY transaction_id HAVING count(DISTINCT stream_id) > 1) x`).Scan(&grouped); err != nil {
		t.Fatal(err)
	}
	if own != writers*each || sharedRows != shared || maxVersion != shared || gaps != 0 {
		t.Fatalf("own %d (want %d), shared %d rows for %d successes at version %d, %d out of order", own, writers*each, sharedRows, shared, maxVersion, gaps)
	}
	if grouped == 0 {
		t.Fatal("no transaction stored more than one stream's append: nothing was grouped")
	}
	t.Logf("%d shared appends stored; %d transactions held more than one append", shared, grouped)
}
