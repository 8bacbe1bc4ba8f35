package eventstoretest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"crm/eventstore"
)

// Harness is what a backend hands the suite.
type Harness struct {
	// New returns a store over a fresh, empty log whose recorded times come
	// from clock. The store is closed by the suite.
	New func(t testing.TB, clock func() time.Time) eventstore.Store
	// AppendAborted appends within a transaction that is then rolled back.
	// Nil when the backend has no such transactions; the ordering test then
	// runs without aborted appends.
	AppendAborted func(ctx context.Context, s eventstore.Store, streams ...eventstore.StreamEvents) error
	// AppendHeld appends within a transaction that stays open for hold
	// before it commits. Nil when the backend has no such transactions.
	AppendHeld func(ctx context.Context, s eventstore.Store, hold time.Duration, streams ...eventstore.StreamEvents) (eventstore.AppendResult, error)
	// Writers and AppendsPerWriter size the ordering test; zero means 8 and
	// 2,000.
	Writers, AppendsPerWriter int
	// IDsUniquePerStream is set by a backend that keeps event ids unique
	// within a stream only (it has no global id index): the suite then does
	// not demand ErrDuplicateEvent for an id reused in another stream.
	IDsUniquePerStream bool
}

// Run runs the whole contract suite against the backend.
func Run(t *testing.T, h Harness) {
	t.Run("AppendAndReadStream", func(t *testing.T) { testAppendAndRead(t, h) })
	t.Run("ExpectedVersionModes", func(t *testing.T) { testExpectedVersions(t, h) })
	t.Run("RacingSameExpectedVersion", func(t *testing.T) { testRace(t, h) })
	t.Run("ConcurrentAnyAppendsStayConsecutive", func(t *testing.T) { testConcurrentAny(t, h) })
	t.Run("MultiStreamAppendIsAtomic", func(t *testing.T) { testMultiStream(t, h) })
	t.Run("DuplicateEventIDStoredOnce", func(t *testing.T) { testDuplicateIDs(t, h) })
	t.Run("InvalidAppendStoresNothing", func(t *testing.T) { testInvalid(t, h) })
	t.Run("ReadStreamOptions", func(t *testing.T) { testReadOptions(t, h) })
	t.Run("ReadAllInBatches", func(t *testing.T) { testReadAll(t, h) })
	t.Run("SubscribeCatchesUpThenFollows", func(t *testing.T) { testSubscribe(t, h) })
	t.Run("OrderingUnderFire", func(t *testing.T) { testOrderingUnderFire(t, h) })
}

func newStore(t testing.TB, h Harness, clock func() time.Time) eventstore.Store {
	t.Helper()
	if clock == nil {
		clock = time.Now
	}
	s := h.New(t, clock)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Event builds an event to append with full metadata.
func Event(typ string, data string) eventstore.EventData {
	return eventstore.EventData{
		Type:          typ,
		SchemaVersion: 1,
		Data:          json.RawMessage(data),
		Metadata: eventstore.Metadata{
			Actor:         "user:test",
			CommandID:     uuid.NewString(),
			CorrelationID: "corr-" + uuid.NewString(),
			CausationID:   "cause-" + uuid.NewString(),
		},
	}
}

func streamOf(id string, exp eventstore.ExpectedVersion, events ...eventstore.EventData) eventstore.StreamEvents {
	return eventstore.StreamEvents{StreamID: id, Expected: exp, Events: events}
}

func uniqueStream(prefix string) string { return prefix + "-" + uuid.NewString() }

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func mustAppend(t testing.TB, ctx context.Context, s eventstore.Store, streams ...eventstore.StreamEvents) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(ctx, streams...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return res
}

func streamLen(t testing.TB, ctx context.Context, s eventstore.Store, id string) int {
	t.Helper()
	evs, err := s.ReadStream(ctx, id, eventstore.ReadOptions{})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return 0
	}
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return len(evs)
}

func readWholeLog(t testing.TB, ctx context.Context, s eventstore.Store, batch int) []eventstore.Event {
	t.Helper()
	var all []eventstore.Event
	var cur eventstore.Cursor
	for {
		evs, err := s.ReadAll(ctx, cur, batch)
		if err != nil {
			t.Fatalf("read log: %v", err)
		}
		if len(evs) == 0 {
			return all
		}
		all = append(all, evs...)
		cur = evs[len(evs)-1].Cursor
	}
}

func testAppendAndRead(t testing.TB, h Harness) {
	fixed := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	s := newStore(t, h, func() time.Time { return fixed })
	ctx := ctxFor(t, 30*time.Second)
	id := uniqueStream("lead")
	in := []eventstore.EventData{
		Event("lead.captured.v1", `{"name":"Ada","email":"ada@example.com"}`),
		Event("lead.assigned.v1", `{"owner_id":"u1"}`),
		Event("lead.qualified.v1", `{"note":"ok","nested":{"a":[1,2,3]}}`),
	}
	in[2].SchemaVersion = 2
	res := mustAppend(t, ctx, s, streamOf(id, eventstore.NoStream, in...))
	if len(res.Events) != 3 || res.Version(id) != 3 {
		t.Fatalf("append result: %d events, version %d", len(res.Events), res.Version(id))
	}
	if res.Position != res.Events[2].Cursor {
		t.Errorf("position %v is not the last event's cursor %v", res.Position, res.Events[2].Cursor)
	}
	got, err := s.ReadStream(ctx, id, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("read %d events, want 3", len(got))
	}
	for i, e := range got {
		w := in[i]
		switch {
		case e.ID != w.ID || e.ID == uuid.Nil:
			t.Errorf("event %d id %v, want %v", i, e.ID, w.ID)
		case e.StreamID != id || e.Version != int64(i+1):
			t.Errorf("event %d at %s v%d", i, e.StreamID, e.Version)
		case e.Type != w.Type || e.SchemaVersion != w.SchemaVersion:
			t.Errorf("event %d type %s v%d, want %s v%d", i, e.Type, e.SchemaVersion, w.Type, w.SchemaVersion)
		case !jsonEqual(e.Data, w.Data):
			t.Errorf("event %d data %s, want %s", i, e.Data, w.Data)
		case e.Metadata != w.Metadata:
			t.Errorf("event %d metadata %+v, want %+v", i, e.Metadata, w.Metadata)
		case !e.RecordedAt.Equal(fixed):
			t.Errorf("event %d recorded at %v, want %v", i, e.RecordedAt, fixed)
		case e.Cursor != res.Events[i].Cursor || e.Cursor.IsZero():
			t.Errorf("event %d cursor %v, append said %v", i, e.Cursor, res.Events[i].Cursor)
		}
		if i > 0 && !e.Cursor.After(got[i-1].Cursor) {
			t.Errorf("cursors not ascending within one append: %v then %v", got[i-1].Cursor, e.Cursor)
		}
	}
	if _, err := s.ReadStream(ctx, uniqueStream("missing"), eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("missing stream: got %v, want ErrStreamNotFound", err)
	}
}

func testExpectedVersions(t testing.TB, h Harness) {
	s := newStore(t, h, nil)
	ctx := ctxFor(t, 30*time.Second)
	id := uniqueStream("acct")
	mustAppend(t, ctx, s, streamOf(id, eventstore.NoStream, Event("a.v1", `{}`), Event("b.v1", `{}`)))

	conflicts := []struct {
		name     string
		stream   string
		expected eventstore.ExpectedVersion
		actual   int64
	}{
		{"no stream on existing", id, eventstore.NoStream, 2},
		{"exact too low", id, eventstore.Exact(1), 2},
		{"exact too high", id, eventstore.Exact(3), 2},
		{"exists on missing", uniqueStream("x"), eventstore.StreamExists, 0},
		{"exact on missing", uniqueStream("x"), eventstore.Exact(1), 0},
	}
	for _, c := range conflicts {
		_, err := s.Append(ctx, streamOf(c.stream, c.expected, Event("c.v1", `{}`)))
		var vc *eventstore.VersionConflictError
		if !errors.As(err, &vc) || !errors.Is(err, eventstore.ErrVersionConflict) {
			t.Errorf("%s: got %v, want a version conflict", c.name, err)
			continue
		}
		if vc.StreamID != c.stream || vc.Actual != c.actual || vc.Expected != c.expected {
			t.Errorf("%s: conflict %+v, want stream %s expected %v actual %d", c.name, vc, c.stream, c.expected, c.actual)
		}
		if n := streamLen(t, ctx, s, c.stream); c.stream == id && n != 2 || c.stream != id && n != 0 {
			t.Errorf("%s: conflict stored something (%d events)", c.name, n)
		}
	}

	if r := mustAppend(t, ctx, s, streamOf(id, eventstore.Exact(2), Event("d.v1", `{}`))); r.Version(id) != 3 {
		t.Errorf("exact: version %d, want 3", r.Version(id))
	}
	if r := mustAppend(t, ctx, s, streamOf(id, eventstore.StreamExists, Event("e.v1", `{}`))); r.Version(id) != 4 {
		t.Errorf("exists: version %d, want 4", r.Version(id))
	}
	if r := mustAppend(t, ctx, s, streamOf(id, eventstore.Any, Event("f.v1", `{}`))); r.Version(id) != 5 {
		t.Errorf("any on existing: version %d, want 5", r.Version(id))
	}
	fresh := uniqueStream("fresh")
	if r := mustAppend(t, ctx, s, streamOf(fresh, eventstore.Any, Event("g.v1", `{}`))); r.Version(fresh) != 1 {
		t.Errorf("any on missing: version %d, want 1", r.Version(fresh))
	}
}

func testRace(t testing.TB, h Harness) {
	s := newStore(t, h, nil)
	ctx := ctxFor(t, 60*time.Second)
	const racers = 10
	for round := 0; round < 5; round++ {
		id := uniqueStream("opp")
		mustAppend(t, ctx, s, streamOf(id, eventstore.NoStream, Event("opened.v1", `{}`)))
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, racers)
		)
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = s.Append(ctx, streamOf(id, eventstore.Exact(1), Event("staged.v1", fmt.Sprintf(`{"racer":%d}`, i))))
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			var vc *eventstore.VersionConflictError
			switch {
			case err == nil:
				wins++
			case errors.As(err, &vc):
				if vc.Actual != 2 {
					t.Errorf("loser saw actual version %d, want 2", vc.Actual)
				}
			default:
				t.Errorf("racer failed with %v, want success or version conflict", err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d racers won, want exactly 1", round, wins)
		}
		if n := streamLen(t, ctx, s, id); n != 2 {
			t.Fatalf("round %d: stream has %d events, want 2", round, n)
		}
	}
}

func testConcurrentAny(t testing.TB, h Harness) {
	s := newStore(t, h, nil)
	ctx := ctxFor(t, 60*time.Second)
	id := uniqueStream("ticket")
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Append(ctx, streamOf(id, eventstore.Any, Event("noted.v1", fmt.Sprintf(`{"i":%d}`, i))))
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("append with expected any failed: %v", err)
	}
	evs, err := s.ReadStream(ctx, id, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
	for i, e := range evs {
		if e.Version != int64(i+1) {
			t.Fatalf("event %d has version %d: versions are not consecutive", i, e.Version)
		}
	}
}

func testMultiStream(t testing.TB, h Harness) {
	s := newStore(t, h, nil)
	ctx := ctxFor(t, 30*time.Second)
	lead, acct, opp := uniqueStream("lead"), uniqueStream("account"), uniqueStream("opportunity")
	mustAppend(t, ctx, s, streamOf(lead, eventstore.NoStream, Event("lead.captured.v1", `{}`)))

	// One stream's conflict fails the whole append.
	_, err := s.Append(ctx,
		streamOf(lead, eventstore.Exact(1), Event("lead.converted.v1", `{}`)),
		streamOf(acct, eventstore.NoStream, Event("account.opened.v1", `{}`)),
		streamOf(opp, eventstore.Exact(7), Event("opportunity.opened.v1", `{}`)),
	)
	var vc *eventstore.VersionConflictError
	if !errors.As(err, &vc) || vc.StreamID != opp {
		t.Fatalf("got %v, want a version conflict on %s", err, opp)
	}
	if a, b, c := streamLen(t, ctx, s, lead), streamLen(t, ctx, s, acct), streamLen(t, ctx, s, opp); a != 1 || b != 0 || c != 0 {
		t.Fatalf("failed multi-stream append left lead=%d account=%d opportunity=%d events", a, b, c)
	}
	if n := len(readWholeLog(t, ctx, s, 100)); n != 1 {
		t.Fatalf("log has %d events after a failed append, want 1", n)
	}

	res := mustAppend(t, ctx, s,
		streamOf(lead, eventstore.Exact(1), Event("lead.converted.v1", `{}`)),
		streamOf(acct, eventstore.NoStream, Event("account.opened.v1", `{}`), Event("contact.added.v1", `{}`)),
		streamOf(opp, eventstore.NoStream, Event("opportunity.opened.v1", `{}`)),
	)
	if res.Version(lead) != 2 || res.Version(acct) != 2 || res.Version(opp) != 1 {
		t.Fatalf("versions lead=%d account=%d opp=%d", res.Version(lead), res.Version(acct), res.Version(opp))
	}
	log := readWholeLog(t, ctx, s, 100)
	want := []string{"lead.captured.v1", "lead.converted.v1", "account.opened.v1", "contact.added.v1", "opportunity.opened.v1"}
	if len(log) != len(want) {
		t.Fatalf("log has %d events, want %d", len(log), len(want))
	}
	for i, e := range log {
		if e.Type != want[i] {
			t.Fatalf("log[%d] is %s, want %s (events of one append keep their order)", i, e.Type, want[i])
		}
	}
}

func testDuplicateIDs(t testing.TB, h Harness) {
	s := newStore(t, h, nil)
	ctx := ctxFor(t, 30*time.Second)
	id := uniqueStream("lead")
	e1, e2 := Event("a.v1", `{"n":1}`), Event("b.v1", `{"n":2}`)
	e1.ID, e2.ID = uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	first := mustAppend(t, ctx, s, streamOf(id, eventstore.NoStream, e1, e2))

	// A retry of the same append (same ids, same expectation) is idempotent.
	again, err := s.Append(ctx, streamOf(id, eventstore.NoStream, e1, e2))
	if err != nil {
		t.Fatalf("re-append of stored ids: %v", err)
	}
	if again.Position != first.Position || again.Version(id) != 2 {
		t.Errorf("re-append answered position %v version %d, want %v and 2", again.Position, again.Version(id), first.Position)
	}
	// Even with another expectation: the events are stored once.
	if _, err := s.Append(ctx, streamOf(id, eventstore.Any, e1, e2)); err != nil {
		t.Errorf("re-append with expected any: %v", err)
	}
	if n := streamLen(t, ctx, s, id); n != 2 {
		t.Fatalf("stream has %d events, want 2", n)
	}
	// The same id in another stream, or mixed with new ids, is refused.
	if !h.IDsUniquePerStream {
		other := uniqueStream("lead")
		if _, err := s.Append(ctx, streamOf(other, eventstore.NoStream, e1)); !errors.Is(err, eventstore.ErrDuplicateEvent) {
			t.Errorf("id reused in another stream: got %v, want ErrDuplicateEvent", err)
		}
	}
	if _, err := s.Append(ctx, streamOf(id, eventstore.Exact(2), e1, Event("c.v1", `{}`))); !errors.Is(err, eventstore.ErrDuplicateEvent) {
		t.Errorf("stored id mixed with a new one: got %v, want ErrDuplicateEvent", err)
	}
	if n := len(readWholeLog(t, ctx, s, 100)); n != 2 {
		t.Fatalf("log has %d events, want 2", n)
	}
	// Concurrent appends of one event id store it once.
	dup := Event("d.v1", `{}`)
	dup.ID = uuid.Must(uuid.NewV7())
	target := uniqueStream("dup")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = s.Append(ctx, streamOf(target, eventstore.Any, dup))
		}()
	}
	wg.Wait()
	if n := streamLen(t, ctx, s, target); n != 1 {
		t.Fatalf("concurrent appends of one id stored %d events, want 1", n)
	}
}

func testInvalid(t testing.TB, h Harness) {
	s := newStore(t, h, nil)
	ctx := ctxFor(t, 30*time.Second)
	noActor := Event("a.v1", `{}`)
	noActor.Metadata.Actor = ""
	bad := [][]eventstore.StreamEvents{
		nil,
		{streamOf("", eventstore.NoStream, Event("a.v1", `{}`))},
		{streamOf("s-1", eventstore.NoStream)},
		{streamOf("s-1", eventstore.NoStream, noActor)},
		{streamOf("s-1", eventstore.NoStream, Event("a.v1", `not json`))},
		{streamOf("s-1", eventstore.NoStream, Event("a.v1", `{}`)), streamOf("s-1", eventstore.Any, Event("b.v1", `{}`))},
		{streamOf("s-2", eventstore.NoStream, Event("a.v1", `{}`)), streamOf("s-3", eventstore.NoStream, Event("", `{}`))},
	}
	for i, b := range bad {
		if _, err := s.Append(ctx, b...); !errors.Is(err, eventstore.ErrInvalidAppend) {
			t.Errorf("case %d: got %v, want ErrInvalidAppend", i, err)
		}
	}
	if n := len(readWholeLog(t, ctx, s, 100)); n != 0 {
		t.Fatalf("invalid appends stored %d events", n)
	}
}

func testReadOptions(t testing.TB, h Harness) {
	var (
		mu  sync.Mutex
		now = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := newStore(t, h, clock)
	ctx := ctxFor(t, 30*time.Second)
	id := uniqueStream("opp")
	for i := 1; i <= 10; i++ {
		mustAppend(t, ctx, s, streamOf(id, eventstore.Exact(int64(i-1)), Event("step.v1", fmt.Sprintf(`{"i":%d}`, i))))
		advance(time.Hour)
	}
	versions := func(evs []eventstore.Event) []int64 {
		out := make([]int64, len(evs))
		for i, e := range evs {
			out[i] = e.Version
		}
		return out
	}
	cases := []struct {
		name string
		opts eventstore.ReadOptions
		want []int64
	}{
		{"from 4", eventstore.ReadOptions{FromVersion: 4}, []int64{4, 5, 6, 7, 8, 9, 10}},
		{"limit 3", eventstore.ReadOptions{Limit: 3}, []int64{1, 2, 3}},
		{"from 9 limit 5", eventstore.ReadOptions{FromVersion: 9, Limit: 5}, []int64{9, 10}},
		{"as of 11:30", eventstore.ReadOptions{Until: time.Date(2026, 1, 1, 11, 30, 0, 0, time.UTC)}, []int64{1, 2, 3}},
		{"as of exactly 12:00", eventstore.ReadOptions{Until: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}, []int64{1, 2, 3, 4}},
		{"as of later", eventstore.ReadOptions{Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"past the end", eventstore.ReadOptions{FromVersion: 11}, []int64{}},
	}
	for _, c := range cases {
		evs, err := s.ReadStream(ctx, id, c.opts)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := versions(evs); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: versions %v, want %v", c.name, got, c.want)
		}
	}
	_, err := s.ReadStream(ctx, id, eventstore.ReadOptions{Until: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)})
	if !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("as of before the stream existed: got %v, want ErrStreamNotFound", err)
	}
}

func testReadAll(t testing.TB, h Harness) {
	s := newStore(t, h, nil)
	ctx := ctxFor(t, 30*time.Second)
	if head, err := s.Head(ctx); err != nil || !head.IsZero() {
		t.Fatalf("empty log head %v, %v", head, err)
	}
	var want []uuid.UUID
	for i := range 25 {
		res := mustAppend(t, ctx, s, streamOf(fmt.Sprintf("s-%d", i%4), eventstore.Any, Event("n.v1", fmt.Sprintf(`{"i":%d}`, i))))
		want = append(want, res.Events[0].ID)
	}
	for _, batch := range []int{1, 7, 10, 25, 100} {
		got := readWholeLog(t, ctx, s, batch)
		if len(got) != len(want) {
			t.Fatalf("batch %d: read %d events, want %d", batch, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i] {
				t.Fatalf("batch %d: event %d out of order", batch, i)
			}
		}
	}
	head, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	log := readWholeLog(t, ctx, s, 100)
	if head != log[len(log)-1].Cursor {
		t.Errorf("head %v, last event at %v", head, log[len(log)-1].Cursor)
	}
	if evs, err := s.ReadAll(ctx, head, 10); err != nil || len(evs) != 0 {
		t.Errorf("read after head: %d events, %v", len(evs), err)
	}
}

func testSubscribe(t testing.TB, h Harness) {
	s := newStore(t, h, nil)
	ctx := ctxFor(t, 60*time.Second)
	for i := range 5 {
		mustAppend(t, ctx, s, streamOf("sub-a", eventstore.Any, Event("n.v1", fmt.Sprintf(`{"i":%d}`, i))))
	}
	got := make(chan eventstore.Event, 100)
	subCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.Subscribe(subCtx, eventstore.SubscribeOptions{BatchSize: 2}, func(_ context.Context, batch []eventstore.Event) error {
			if len(batch) > 2 {
				return fmt.Errorf("batch of %d exceeds the size asked for", len(batch))
			}
			for _, e := range batch {
				got <- e
			}
			return nil
		})
	}()
	receive := func(n int) []eventstore.Event {
		t.Helper()
		var out []eventstore.Event
		deadline := time.After(10 * time.Second)
		for len(out) < n {
			select {
			case e := <-got:
				out = append(out, e)
			case err := <-done:
				t.Fatalf("subscription ended: %v", err)
			case <-deadline:
				t.Fatalf("received %d of %d events", len(out), n)
			}
		}
		return out
	}
	caught := receive(5)
	start := time.Now()
	mustAppend(t, ctx, s, streamOf("sub-a", eventstore.Any, Event("n.v1", `{"i":5}`)))
	live := receive(1)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("live event took %v to arrive", d)
	}
	all := append(caught, live...)
	for i, e := range all {
		if e.Version != int64(i+1) {
			t.Fatalf("subscription delivered version %d at %d", e.Version, i)
		}
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled subscription returned %v", err)
	}
	select {
	case e := <-got:
		t.Errorf("extra event delivered: %+v", e)
	default:
	}

	// Resuming from a cursor delivers only what follows it.
	var resumed []eventstore.Event
	rctx, rstop := context.WithCancel(ctx)
	err := s.Subscribe(rctx, eventstore.SubscribeOptions{After: all[2].Cursor}, func(_ context.Context, b []eventstore.Event) error {
		resumed = append(resumed, b...)
		if len(resumed) >= 3 {
			rstop()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || len(resumed) != 3 || resumed[0].ID != all[3].ID {
		t.Errorf("resume after cursor: %d events, first %v, err %v", len(resumed), resumed, err)
	}
	rstop()

	// A handler's error ends the subscription and is returned.
	boom := errors.New("projector failed")
	err = s.Subscribe(ctx, eventstore.SubscribeOptions{}, func(context.Context, []eventstore.Event) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("handler error: got %v", err)
	}
}

// RunOrderingUnderFire runs only the ordering test. It takes a testing.TB
// so a backend's own tests can check that it fails a faulty reader.
func RunOrderingUnderFire(t testing.TB, h Harness) { testOrderingUnderFire(t, h) }

// testOrderingUnderFire: concurrent writers, some appends rolled back, one
// transaction held open for seconds, and a subscriber tailing the log. The
// subscriber must see every committed event exactly once and none of the
// rolled-back ones, and a full re-read must give the same order.
func testOrderingUnderFire(t testing.TB, h Harness) {
	writers, perWriter := h.Writers, h.AppendsPerWriter
	if writers == 0 {
		writers = 8
	}
	if perWriter == 0 {
		perWriter = 2000
	}
	s := newStore(t, h, nil)
	ctx := ctxFor(t, 5*time.Minute)
	var (
		mu        sync.Mutex
		committed = map[uuid.UUID]bool{}
		aborted   = map[uuid.UUID]bool{}
	)
	record := func(m map[uuid.UUID]bool, evs []eventstore.EventData) {
		mu.Lock()
		for _, e := range evs {
			m[e.ID] = true
		}
		mu.Unlock()
	}
	newEvents := func(w, i, n int) []eventstore.EventData {
		evs := make([]eventstore.EventData, n)
		for k := range evs {
			evs[k] = Event("fire.v1", fmt.Sprintf(`{"writer":%d,"i":%d,"k":%d}`, w, i, k))
			evs[k].ID = uuid.Must(uuid.NewV7())
		}
		return evs
	}

	// The subscriber tails the log from the start, concurrently.
	subCtx, stopSub := context.WithCancel(ctx)
	defer stopSub()
	var (
		seenMu sync.Mutex
		seen   []eventstore.Event
	)
	subDone := make(chan error, 1)
	go func() {
		subDone <- s.Subscribe(subCtx, eventstore.SubscribeOptions{BatchSize: 300}, func(_ context.Context, b []eventstore.Event) error {
			seenMu.Lock()
			seen = append(seen, b...)
			seenMu.Unlock()
			return nil
		})
	}()

	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	if h.AppendHeld != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := newEvents(-1, 0, 3)
			if _, err := h.AppendHeld(ctx, s, 3*time.Second, streamOf("fire-held", eventstore.NoStream, evs...)); err != nil {
				errs <- fmt.Errorf("held append: %w", err)
				return
			}
			record(committed, evs)
		}()
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				evs := newEvents(w, i, 1+i%3)
				stream := fmt.Sprintf("fire-%d-%d", w, i%16)
				if h.AppendAborted != nil && i%17 == 5 {
					if err := h.AppendAborted(ctx, s, streamOf(stream, eventstore.Any, evs...)); err != nil {
						errs <- fmt.Errorf("aborted append: %w", err)
						return
					}
					record(aborted, evs)
					continue
				}
				appends := []eventstore.StreamEvents{streamOf(stream, eventstore.Any, evs...)}
				if i%5 == 0 {
					// Multi-stream appends that contend with other writers
					// on shared streams.
					extra := newEvents(w, i, 1)
					evs = append(evs, extra...)
					appends = append(appends, streamOf(fmt.Sprintf("fire-shared-%d", i%3), eventstore.Any, extra...))
				}
				if _, err := s.Append(ctx, appends...); err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
				record(committed, evs)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if h.AppendAborted != nil && len(aborted) == 0 {
		t.Fatal("no append was rolled back")
	}

	// Wait until the subscriber has seen as many events as were committed,
	// or has made no progress for a while.
	progress, lastChange := -1, time.Now()
	for {
		seenMu.Lock()
		n := len(seen)
		seenMu.Unlock()
		if n != progress {
			progress, lastChange = n, time.Now()
		}
		if n >= len(committed) || time.Since(lastChange) > 5*time.Second {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Give a misbehaving reader the chance to over-deliver, then stop.
	time.Sleep(200 * time.Millisecond)
	stopSub()
	if err := <-subDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("subscriber ended with %v", err)
	}

	seenMu.Lock()
	defer seenMu.Unlock()
	counts := make(map[uuid.UUID]int, len(seen))
	for _, e := range seen {
		counts[e.ID]++
	}
	missing, dups, ghosts := 0, 0, 0
	for id := range committed {
		if counts[id] == 0 {
			missing++
		}
	}
	for id, c := range counts {
		if c > 1 {
			dups++
		}
		if aborted[id] || !committed[id] {
			ghosts++
		}
	}
	t.Logf("committed %d events (%d appends rolled back), subscriber saw %d", len(committed), len(aborted), len(seen))
	if missing > 0 || dups > 0 || ghosts > 0 {
		t.Fatalf("subscriber skipped %d committed events, saw %d more than once, saw %d never committed", missing, dups, ghosts)
	}
	for i := 1; i < len(seen); i++ {
		if !seen[i].Cursor.After(seen[i-1].Cursor) {
			t.Fatalf("subscriber order not strictly ascending at %d", i)
		}
	}
	reread := readWholeLog(t, ctx, s, 1000)
	if len(reread) != len(seen) {
		t.Fatalf("re-read has %d events, subscriber saw %d", len(reread), len(seen))
	}
	for i := range reread {
		if reread[i].ID != seen[i].ID || reread[i].Cursor != seen[i].Cursor {
			t.Fatalf("re-read differs from the live order at %d", i)
		}
	}
	// Within each stream the log order is version order.
	last := map[string]int64{}
	for _, e := range reread {
		if e.Version != last[e.StreamID]+1 {
			t.Fatalf("stream %s: version %d follows %d in the log", e.StreamID, e.Version, last[e.StreamID])
		}
		last[e.StreamID] = e.Version
	}
}
