package esdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"crm/eventstore"
)

// memStore is a store that appends one stream at a time, as EventStoreDB
// does, and can be made to crash after a number of appends.
type memStore struct {
	mu        sync.Mutex
	streams   map[string][]eventstore.Event
	pos       uint64
	appends   int
	crashAt   int            // fail the crashAt-th append (1-based); 0 never
	beforeApp func(s string) // called before each append, outside the lock
}

var errCrash = errors.New("simulated crash")

func newMem() *memStore { return &memStore{streams: map[string][]eventstore.Event{}} }

func (m *memStore) stored(_ context.Context, st eventstore.StreamEvents) ([]eventstore.Event, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return matchStored(st, m.streams[st.StreamID])
}

func (m *memStore) version(_ context.Context, id string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.streams[id])), nil
}

func (m *memStore) appendOne(ctx context.Context, st eventstore.StreamEvents, now time.Time, rollForward bool) ([]eventstore.Event, error) {
	if m.beforeApp != nil {
		m.beforeApp(st.StreamID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if evs, done, err := matchStored(st, m.streams[st.StreamID]); err != nil || done {
		return evs, err
	}
	m.appends++
	if m.crashAt > 0 && m.appends == m.crashAt {
		return nil, errCrash
	}
	cur := int64(len(m.streams[st.StreamID]))
	if !satisfies(st.Expected, cur) && !rollForward {
		return nil, &eventstore.VersionConflictError{StreamID: st.StreamID, Expected: st.Expected, Actual: cur}
	}
	var out []eventstore.Event
	for _, e := range st.Events {
		m.pos++
		cur++
		ev := eventstore.Event{ID: e.ID, StreamID: st.StreamID, Version: cur, Cursor: eventstore.Cursor{Major: m.pos, Minor: m.pos},
			Type: e.Type, Data: e.Data, RecordedAt: now}
		m.streams[st.StreamID] = append(m.streams[st.StreamID], ev)
		out = append(out, ev)
	}
	return out, nil
}

func (m *memStore) pendingTx(context.Context) ([]txIntent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []txIntent
	for name, evs := range m.streams {
		if !strings.HasPrefix(name, txPrefix) || len(evs) != 1 {
			continue
		}
		in, err := decodeIntent(evs[0].Data)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// ids lists the event ids of every non-transaction stream.
func (m *memStore) count() (events int, ids map[uuid.UUID]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids = map[uuid.UUID]int{}
	for name, evs := range m.streams {
		if strings.HasPrefix(name, txPrefix) {
			continue
		}
		for _, e := range evs {
			ids[e.ID]++
			events++
		}
	}
	return events, ids
}

func (m *memStore) txState(id uuid.UUID) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var types []string
	for _, e := range m.streams[txStream(id)] {
		types = append(types, e.Type)
	}
	return types
}

func ev(typ string) eventstore.EventData {
	return eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: typ, SchemaVersion: 1, Data: []byte(`{}`), Metadata: eventstore.Metadata{Actor: "user:t"}}
}

// conversion is a lead conversion: the lead at version 1 and three new
// streams.
func conversion() []eventstore.StreamEvents {
	return []eventstore.StreamEvents{
		{StreamID: "lead-1", Expected: eventstore.Exact(1), Events: []eventstore.EventData{ev("lead.converted.v1")}},
		{StreamID: "account-1", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("account.opened.v1"), ev("contact.added.v1")}},
		{StreamID: "opportunity-1", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("opportunity.opened.v1")}},
	}
}

func seedLead(t *testing.T, m *memStore) {
	t.Helper()
	if _, err := m.appendOne(t.Context(), eventstore.StreamEvents{StreamID: "lead-1", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("lead.captured.v1")}}, time.Now(), false); err != nil {
		t.Fatal(err)
	}
}

func TestTxCommits(t *testing.T) {
	m := newMem()
	seedLead(t, m)
	streams := conversion()
	evs, err := runTx(t.Context(), m, streams, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 || evs[0].StreamID != "lead-1" || evs[0].Version != 2 || evs[3].StreamID != "opportunity-1" {
		t.Fatalf("events %+v", evs)
	}
	if got := m.txState(txID(streams)); fmt.Sprint(got) != fmt.Sprint([]string{txIntentType, txCommittedType}) {
		t.Errorf("transaction stream %v", got)
	}
	// A retry of the same append answers the same events and writes nothing.
	again, err := runTx(t.Context(), m, streams, time.Now())
	if err != nil || len(again) != 4 || again[3].Cursor != evs[3].Cursor {
		t.Errorf("retry: %v, %+v", err, again)
	}
	if n, _ := m.count(); n != 5 {
		t.Errorf("%d events stored, want 5", n)
	}
}

func TestTxConflictWritesNothing(t *testing.T) {
	m := newMem()
	seedLead(t, m)
	streams := conversion()
	streams[2].Expected = eventstore.Exact(7)
	_, err := runTx(t.Context(), m, streams, time.Now())
	var vc *eventstore.VersionConflictError
	if !errors.As(err, &vc) || vc.StreamID != "opportunity-1" || vc.Actual != 0 {
		t.Fatalf("got %v, want a conflict on opportunity-1", err)
	}
	if n, _ := m.count(); n != 1 {
		t.Errorf("%d events stored, want only the seed", n)
	}
	if got := m.txState(txID(streams)); got != nil {
		t.Errorf("a refused append wrote a transaction stream: %v", got)
	}
}

// TestTxFirstStreamRace: another writer moves the lead on between the
// check and the write; the append is aborted and nothing else is written.
func TestTxFirstStreamRace(t *testing.T) {
	m := newMem()
	seedLead(t, m)
	streams := conversion()
	raced := false
	m.beforeApp = func(s string) {
		if s == "lead-1" && !raced {
			raced = true
			m.beforeApp = nil
			if _, err := m.appendOne(t.Context(), eventstore.StreamEvents{StreamID: "lead-1", Expected: eventstore.Exact(1), Events: []eventstore.EventData{ev("lead.disqualified.v1")}}, time.Now(), false); err != nil {
				t.Error(err)
			}
		}
	}
	_, err := runTx(t.Context(), m, streams, time.Now())
	var vc *eventstore.VersionConflictError
	if !errors.As(err, &vc) || vc.StreamID != "lead-1" || vc.Actual != 2 {
		t.Fatalf("got %v, want a conflict on lead-1 at 2", err)
	}
	if n, _ := m.count(); n != 2 {
		t.Errorf("%d events stored, want the seed and the racing write", n)
	}
	if got := m.txState(txID(streams)); fmt.Sprint(got) != fmt.Sprint([]string{txIntentType, txAbortedType}) {
		t.Errorf("transaction stream %v, want intent then abort", got)
	}
	if n, err := recoverTx(t.Context(), m); err != nil || n != 0 {
		t.Errorf("recover after an abort completed %d: %v", n, err)
	}
}

// TestTxCrashAtEveryStep crashes the protocol at each of its appends in
// turn; a retry of the same append, or recovery, converges to every event
// stored exactly once.
func TestTxCrashAtEveryStep(t *testing.T) {
	// Appends: seed, intent, lead, account, opportunity, commit marker.
	for crash := 2; crash <= 6; crash++ {
		for _, how := range []string{"retry", "recover"} {
			t.Run(fmt.Sprintf("%s after crash at append %d", how, crash), func(t *testing.T) {
				m := newMem()
				m.crashAt = crash
				seedLead(t, m)
				streams := conversion()
				if _, err := runTx(t.Context(), m, streams, time.Now()); !errors.Is(err, errCrash) {
					t.Fatalf("got %v, want the crash", err)
				}
				switch how {
				case "retry":
					if _, err := runTx(t.Context(), m, streams, time.Now()); err != nil {
						t.Fatalf("retry: %v", err)
					}
				case "recover":
					n, err := recoverTx(t.Context(), m)
					if err != nil {
						t.Fatalf("recover: %v", err)
					}
					if crash > 2 && n != 1 {
						t.Errorf("recovered %d transactions, want 1", n)
					}
				}
				n, ids := m.count()
				want := 5
				if how == "recover" && crash == 2 {
					want = 1 // the intent never got written: nothing to recover
				}
				if n != want {
					t.Fatalf("%d events stored, want %d", n, want)
				}
				for id, c := range ids {
					if c != 1 {
						t.Errorf("event %s stored %d times", id, c)
					}
				}
				if n, err := recoverTx(t.Context(), m); err != nil || n != 0 {
					t.Errorf("second recovery completed %d: %v", n, err)
				}
			})
		}
	}
}

// TestTxRollsForward: after the commit point a concurrent write to a later
// stream does not leave the append half done.
func TestTxRollsForward(t *testing.T) {
	m := newMem()
	seedLead(t, m)
	streams := conversion()
	m.beforeApp = func(s string) {
		if s == "account-1" {
			m.beforeApp = nil
			if _, err := m.appendOne(t.Context(), eventstore.StreamEvents{StreamID: "account-1", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("account.tagged.v1")}}, time.Now(), false); err != nil {
				t.Error(err)
			}
		}
	}
	evs, err := runTx(t.Context(), m, streams, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 || evs[1].StreamID != "account-1" || evs[1].Version != 2 {
		t.Fatalf("events %+v", evs)
	}
}
