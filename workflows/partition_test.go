package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crm/eventstore"
	"crm/workflows"
)

// recorder is an automation that records the order it sees events in and
// how many it handles at once.
type recorder struct {
	name  string
	delay time.Duration

	mu        sync.Mutex
	byStream  map[string][]int64
	all       []string // cursors in the order seen
	running   atomic.Int32
	maxAtOnce atomic.Int32
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Handle(_ context.Context, ev workflows.Event) error {
	n := r.running.Add(1)
	defer r.running.Add(-1)
	for {
		m := r.maxAtOnce.Load()
		if n <= m || r.maxAtOnce.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byStream[ev.Stream] = append(r.byStream[ev.Stream], ev.Version)
	r.all = append(r.all, ev.Cursor)
	return nil
}

func (r *recorder) seen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

// The forwarder hands different streams' events to an automation
// concurrently, each stream's in order, every event once.
func TestForwarderPartitionsByStream(t *testing.T) {
	ctx := context.Background()
	pool, store, codec := forwarderLog(t)
	const streams, perStream = 16, 12
	for v := 1; v <= perStream; v++ {
		for s := range streams {
			data, _ := json.Marshal(map[string]any{"note": v})
			if _, err := store.Append(ctx, eventstore.StreamEvents{StreamID: fmt.Sprintf("note-%d", s), Expected: eventstore.Any,
				Events: []eventstore.EventData{{Type: "note.added.v1", SchemaVersion: 1, Data: data, Metadata: eventstore.Metadata{Actor: "test"}}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, err := workflows.New(pool, store, codec, workflows.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), BatchSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	parallel := &recorder{name: "parallel", delay: 2 * time.Millisecond, byStream: map[string][]int64{}}
	b.AddAutomation(parallel)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(rctx) }()
	defer func() { stop(); <-done }()

	deadline := time.Now().Add(30 * time.Second)
	for parallel.seen() < streams*perStream {
		if time.Now().After(deadline) {
			t.Fatalf("seen %d of %d events", parallel.seen(), streams*perStream)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a duplicate would show by now
	if n := parallel.seen(); n != streams*perStream {
		t.Fatalf("%d deliveries of %d events", n, streams*perStream)
	}
	if len(parallel.byStream) != streams {
		t.Fatalf("saw %d streams, want %d", len(parallel.byStream), streams)
	}
	for s, versions := range parallel.byStream {
		for i, v := range versions {
			if v != int64(i+1) {
				t.Fatalf("saw %s out of order: %v", s, versions)
			}
		}
	}
	if m := parallel.maxAtOnce.Load(); m < 2 {
		t.Errorf("the partitioned automation handled at most %d event at a time, want several", m)
	}
}

// TestAnUndecodableKnownEventIsNeverPassedOver checks that an automation is
// never handed a known event type whose data does not decode, as if its
// type were unknown: the event ends as the automation's dead letter, with
// its position and the decoding error as the reason. Unknown types are
// handed on (with no domain event) and passed over.
func TestAnUndecodableKnownEventIsNeverPassedOver(t *testing.T) {
	ctx := context.Background()
	pool, store, codec := forwarderLog(t)
	appendOne := func(stream, typ, data string) string {
		res, err := store.Append(ctx, eventstore.StreamEvents{StreamID: stream, Expected: eventstore.Any,
			Events: []eventstore.EventData{{Type: typ, SchemaVersion: 1, Data: []byte(data), Metadata: eventstore.Metadata{Actor: "test"}}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Position.String()
	}
	appendOne("note-1", "note.added.v1", `{"note": 1}`)
	bad := appendOne("lead-undecodable", "lead.captured.v1", `{"lead_id": 42}`)
	appendOne("note-2", "note.added.v1", `{"note": 2}`)
	b, err := workflows.New(pool, store, codec, workflows.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxRetries: 1, RetryInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{name: "rec", byStream: map[string][]int64{}}
	b.AddAutomation(rec)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(rctx) }()
	defer func() { stop(); <-done }()

	deadline := time.Now().Add(20 * time.Second)
	var dead []workflows.DeadLetter
	for {
		dead, _, err = b.DeadLetters().List(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) > 0 && rec.seen() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("saw %d events and %d dead letters", rec.seen(), len(dead))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(dead) != 1 || dead[0].Handler != "rec" || !strings.Contains(dead[0].Reason, "at "+bad) ||
		!strings.Contains(dead[0].Reason, "decode lead.captured.v1") {
		t.Fatalf("dead letters %+v, want one for rec at %s saying why", dead, bad)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, c := range rec.all {
		if c == bad {
			t.Fatalf("the automation was handed the undecodable event at %s", bad)
		}
	}
}
