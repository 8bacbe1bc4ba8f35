package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"crm/eventstore"
)

// Options configure a Store.
type Options struct {
	// Namespace prefixes every stream name; only events of streams with the
	// prefix belong to this store's log. Empty in production; tests use a
	// fresh namespace to get an empty log on a shared server.
	Namespace string
	// Clock gives the recorded time of appended events (default time.Now).
	Clock func() time.Time
	// Logger receives warnings (default: discarded).
	Logger *slog.Logger
	// ConnectTimeout bounds the connection check of Open (default 5s).
	ConnectTimeout time.Duration
	// TailWindow is how many of a stream's latest events are checked for
	// the ids of an append before it is written (default 64).
	TailWindow int
}

// Store is the EventStoreDB implementation of eventstore.Store.
type Store struct {
	client *esdb.Client
	ns     string
	clock  func() time.Time
	log    *slog.Logger
	window int
	closed atomic.Bool
}

var _ eventstore.Store = (*Store)(nil)

// Open connects to the EventStoreDB at url and checks, within
// opts.ConnectTimeout, that it answers a read of $all. It returns an error
// naming the cause for a malformed URL, an unreachable server or a refused
// read; it never blocks longer than the timeout or ctx.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	cfg.Logger = func(esdb.LogLevel, string, ...any) {}
	client, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("create EventStoreDB client: %w", err)
	}
	s := New(client, opts)
	timeout := opts.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The client finds a node without a context and may retry for long; run
	// the check aside and give up at the timeout.
	checked := make(chan error, 1)
	go func() {
		_, err := s.Head(ctx)
		checked <- err
	}()
	select {
	case err := <-checked:
		if err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("connect: %w", err)
		}
		return s, nil
	case <-ctx.Done():
		// The client is left to its own goroutines: closing it while a
		// discovery is in flight can panic inside the client.
		return nil, fmt.Errorf("connect: no answer within %s: %w", timeout, ctx.Err())
	}
}

// New returns a store over an existing client. Close closes the client.
func New(client *esdb.Client, opts Options) *Store {
	s := &Store{client: client, ns: opts.Namespace, clock: opts.Clock, log: opts.Logger, window: opts.TailWindow}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.window <= 0 {
		s.window = 64
	}
	return s
}

// Close closes the client. It is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("close EventStoreDB client: %w", err)
	}
	return nil
}

// Append implements eventstore.Store. One stream is one EventStoreDB
// append; several streams follow the roll-forward protocol of the package
// documentation.
func (s *Store) Append(ctx context.Context, streams ...eventstore.StreamEvents) (eventstore.AppendResult, error) {
	if s.closed.Load() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if err := eventstore.CheckAppend(streams); err != nil {
		return eventstore.AppendResult{}, err
	}
	for _, st := range streams {
		if err := checkStreamID(st.StreamID); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	now := s.clock()
	if len(streams) == 1 {
		evs, err := s.appendOne(ctx, streams[0], now, false)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		return result(evs), nil
	}
	evs, err := runTx(ctx, (*storeTx)(s), streams, now)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return result(evs), nil
}

func result(evs []eventstore.Event) eventstore.AppendResult {
	r := eventstore.AppendResult{Events: evs}
	for _, e := range evs {
		if e.Cursor.After(r.Position) {
			r.Position = e.Cursor
		}
	}
	return r
}

// appendOne appends one stream's events: idempotently when they are stored
// already, refusing a mix of stored and new ids, and mapping a wrong
// expected version to a *VersionConflictError. With rollForward, a
// conflict appends after the stream's current end instead.
func (s *Store) appendOne(ctx context.Context, st eventstore.StreamEvents, now time.Time, rollForward bool) ([]eventstore.Event, error) {
	if evs, done, err := s.stored(ctx, st); err != nil || done {
		return evs, err
	}
	data := make([]esdb.EventData, len(st.Events))
	for i, e := range st.Events {
		d, err := encodeEvent(e, now)
		if err != nil {
			return nil, err
		}
		data[i] = d
	}
	rev, err := ExpectedRevision(st.Expected)
	if err != nil {
		return nil, err
	}
	name := StreamName(s.ns, st.StreamID)
	for attempt := 0; ; attempt++ {
		wr, err := s.client.AppendToStream(ctx, name, esdb.AppendToStreamOptions{ExpectedRevision: rev}, data...)
		if err == nil {
			first := wr.NextExpectedVersion + 1 - uint64(len(data))
			return s.readBack(ctx, st, first)
		}
		if !isCode(err, esdb.ErrorCodeWrongExpectedVersion) {
			return nil, fmt.Errorf("append to %s: %w", st.StreamID, err)
		}
		// The events may have been stored by an earlier attempt.
		if evs, done, serr := s.stored(ctx, st); serr != nil || done {
			return evs, serr
		}
		actual, verr := s.version(ctx, st.StreamID)
		if verr != nil {
			return nil, verr
		}
		if !rollForward || attempt >= 20 {
			return nil, &eventstore.VersionConflictError{StreamID: st.StreamID, Expected: st.Expected, Actual: actual}
		}
		s.log.Warn("multi-stream append rolls forward past a concurrent write", "stream", st.StreamID, "expected", st.Expected.String(), "actual", actual)
		rev, _ = ExpectedRevision(eventstore.Exact(actual))
	}
}

// stored checks the stream's latest events for the append's ids: all of
// them, in order, means the append is done (its events are returned);
// some of them is ErrDuplicateEvent.
func (s *Store) stored(ctx context.Context, st eventstore.StreamEvents) ([]eventstore.Event, bool, error) {
	tail, err := s.tail(ctx, st.StreamID, max(s.window, len(st.Events)))
	if err != nil {
		return nil, false, err
	}
	return matchStored(st, tail)
}

// matchStored decides from a stream's tail (in version order) whether the
// append st is stored already.
func matchStored(st eventstore.StreamEvents, tail []eventstore.Event) ([]eventstore.Event, bool, error) {
	at := make(map[uuid.UUID]int, len(tail))
	for i, e := range tail {
		at[e.ID] = i
	}
	found := 0
	for _, e := range st.Events {
		if _, ok := at[e.ID]; ok {
			found++
		}
	}
	switch {
	case found == 0:
		return nil, false, nil
	case found < len(st.Events):
		return nil, false, fmt.Errorf("%w: stream %s holds %d of the append's %d event ids", eventstore.ErrDuplicateEvent, st.StreamID, found, len(st.Events))
	}
	start := at[st.Events[0].ID]
	if start+len(st.Events) > len(tail) {
		return nil, false, fmt.Errorf("%w: stream %s holds the append's ids out of order", eventstore.ErrDuplicateEvent, st.StreamID)
	}
	out := tail[start : start+len(st.Events)]
	for i, e := range st.Events {
		if out[i].ID != e.ID {
			return nil, false, fmt.Errorf("%w: stream %s holds the append's ids out of order", eventstore.ErrDuplicateEvent, st.StreamID)
		}
	}
	return append([]eventstore.Event(nil), out...), true, nil
}

// readBack reads the events just appended, from revision first, to learn
// their cursors.
func (s *Store) readBack(ctx context.Context, st eventstore.StreamEvents, first uint64) ([]eventstore.Event, error) {
	evs, err := s.readStream(ctx, st.StreamID, esdb.Revision(first), esdb.Forwards, uint64(len(st.Events)))
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", st.StreamID, err)
	}
	if evs, done, err := matchStored(st, evs); err == nil && done {
		return evs, nil
	}
	// The server answered an idempotent re-append with another revision:
	// find the events in the stream's tail.
	if evs, done, err := s.stored(ctx, st); err != nil || done {
		return evs, err
	}
	return nil, fmt.Errorf("%w: stream %s does not hold the appended ids at revision %d", eventstore.ErrDuplicateEvent, st.StreamID, first)
}

// tail returns up to n of the stream's latest events in version order (none
// for a missing stream).
func (s *Store) tail(ctx context.Context, streamID string, n int) ([]eventstore.Event, error) {
	evs, err := s.readStream(ctx, streamID, esdb.End{}, esdb.Backwards, uint64(n))
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	return evs, nil
}

// version returns the stream's current version (0 when it has no events).
func (s *Store) version(ctx context.Context, streamID string) (int64, error) {
	evs, err := s.tail(ctx, streamID, 1)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	return evs[0].Version, nil
}

// readStream reads up to count events of a contract stream.
func (s *Store) readStream(ctx context.Context, streamID string, from esdb.StreamPosition, dir esdb.Direction, count uint64) ([]eventstore.Event, error) {
	rs, err := s.client.ReadStream(ctx, StreamName(s.ns, streamID), esdb.ReadStreamOptions{Direction: dir, From: from}, count)
	if err != nil {
		return nil, readError(streamID, err)
	}
	defer rs.Close()
	var out []eventstore.Event
	for {
		r, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, readError(streamID, err)
		}
		e, ok, err := decodeEvent(s.ns, r.Event)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
}

// readError maps a stream read error.
func readError(streamID string, err error) error {
	if isCode(err, esdb.ErrorCodeResourceNotFound) || isCode(err, esdb.ErrorCodeStreamDeleted) {
		return fmt.Errorf("read %s: %w", streamID, eventstore.ErrStreamNotFound)
	}
	return fmt.Errorf("read %s: %w", streamID, err)
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, streamID string, opts eventstore.ReadOptions) ([]eventstore.Event, error) {
	if s.closed.Load() {
		return nil, eventstore.ErrClosed
	}
	var from esdb.StreamPosition = esdb.Start{}
	if opts.FromVersion > 1 {
		from = esdb.Revision(uint64(opts.FromVersion) - 1)
	}
	count := uint64(math.MaxInt64)
	if opts.Limit > 0 {
		count = uint64(opts.Limit)
	}
	evs, err := s.readStream(ctx, streamID, from, esdb.Forwards, count)
	if err != nil {
		return nil, err
	}
	if !opts.Until.IsZero() {
		n := 0
		for n < len(evs) && !evs[n].RecordedAt.After(opts.Until) {
			n++
		}
		if n == 0 && opts.FromVersion <= 1 {
			return nil, fmt.Errorf("read %s as of %s: %w", streamID, opts.Until.Format(time.RFC3339), eventstore.ErrStreamNotFound)
		}
		evs = evs[:n]
	}
	if evs == nil {
		evs = []eventstore.Event{}
	}
	return evs, nil
}

// ReadAll implements eventstore.Store over $all, skipping system events,
// other namespaces and transaction streams.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error) {
	if s.closed.Load() {
		return nil, eventstore.ErrClosed
	}
	if limit <= 0 {
		limit = 1000
	}
	var out []eventstore.Event
	pos, seen := after, after
	chunk := uint64(max(limit, 256))
	for len(out) < limit {
		raw, last, n, err := s.readAllChunk(ctx, pos, chunk)
		if err != nil {
			return nil, err
		}
		out, seen = collectAfter(out, raw, seen, limit)
		if uint64(n) < chunk || !last.After(pos) {
			break
		}
		pos = last
	}
	return out, nil
}

// collectAfter appends to out the events of raw that lie after seen, up to
// limit events in all, and returns the new last cursor. A read of $all from
// a position may include the record at that position: it is not repeated.
func collectAfter(out, raw []eventstore.Event, seen eventstore.Cursor, limit int) ([]eventstore.Event, eventstore.Cursor) {
	for _, e := range raw {
		if len(out) >= limit {
			break
		}
		if e.Cursor.After(seen) {
			out = append(out, e)
			seen = e.Cursor
		}
	}
	return out, seen
}

// readAllChunk reads count raw $all records from pos and returns the
// visible events, the last raw position and how many records were read.
func (s *Store) readAllChunk(ctx context.Context, pos eventstore.Cursor, count uint64) ([]eventstore.Event, eventstore.Cursor, int, error) {
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards, From: PositionOf(pos)}, count)
	if err != nil {
		return nil, pos, 0, fmt.Errorf("read $all: %w", err)
	}
	defer rs.Close()
	var (
		out  []eventstore.Event
		last = pos
		n    int
	)
	for {
		r, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, last, n, nil
		}
		if err != nil {
			return nil, pos, 0, fmt.Errorf("read $all: %w", err)
		}
		n++
		if r.Event == nil {
			continue
		}
		last = CursorOf(r.Event.Position)
		if !visible(s.ns, r.Event.StreamID, r.Event.EventType) {
			continue
		}
		e, ok, err := decodeEvent(s.ns, r.Event)
		if err != nil {
			return nil, pos, 0, err
		}
		if ok {
			out = append(out, e)
		}
	}
}

// Head implements eventstore.Store: it reads $all backwards to the last
// visible event.
func (s *Store) Head(ctx context.Context) (eventstore.Cursor, error) {
	if s.closed.Load() {
		return eventstore.Cursor{}, eventstore.ErrClosed
	}
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, math.MaxInt64)
	if err != nil {
		return eventstore.Cursor{}, fmt.Errorf("read $all backwards: %w", err)
	}
	defer rs.Close()
	for {
		r, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return eventstore.Cursor{}, nil
		}
		if err != nil {
			return eventstore.Cursor{}, fmt.Errorf("read $all backwards: %w", err)
		}
		if r.Event != nil && visible(s.ns, r.Event.StreamID, r.Event.EventType) {
			return CursorOf(r.Event.Position), nil
		}
	}
}

// Subscribe implements eventstore.Store with a catch-up subscription to
// $all filtered server-side to non-system events. A dropped subscription
// is resumed from the last delivered cursor.
func (s *Store) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions, handle func(context.Context, []eventstore.Event) error) error {
	batch := opts.BatchSize
	if batch <= 0 {
		batch = 500
	}
	last := opts.After
	for {
		if s.closed.Load() {
			return eventstore.ErrClosed
		}
		err := s.subscribeOnce(ctx, &last, batch, handle)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he *handlerError
		if errors.As(err, &he) {
			return fmt.Errorf("handle events: %w", he.err)
		}
		s.log.Warn("EventStoreDB subscription dropped; resubscribing", "after", last.String(), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

func (s *Store) subscribeOnce(ctx context.Context, last *eventstore.Cursor, batch int, handle func(context.Context, []eventstore.Event) error) error {
	sub, err := s.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: PositionOf(*last), Filter: esdb.ExcludeSystemEventsFilter()})
	if err != nil {
		return fmt.Errorf("subscribe to $all: %w", err)
	}
	events := make(chan *esdb.SubscriptionEvent)
	pumped := make(chan struct{})
	subCtx, stop := context.WithCancel(ctx)
	go func() {
		defer close(pumped)
		for {
			ev := sub.Recv()
			select {
			case events <- ev:
			case <-subCtx.Done():
				return
			}
			if ev.SubscriptionDropped != nil {
				return
			}
		}
	}()
	defer func() { stop(); _ = sub.Close(); <-pumped }()

	var pending []eventstore.Event
	take := func(ev *esdb.SubscriptionEvent) error {
		if ev.SubscriptionDropped != nil {
			return fmt.Errorf("subscription dropped: %w", ev.SubscriptionDropped.Error)
		}
		r := ev.EventAppeared
		if r == nil || r.Event == nil || !visible(s.ns, r.Event.StreamID, r.Event.EventType) {
			return nil
		}
		e, ok, err := decodeEvent(s.ns, r.Event)
		if err != nil {
			return err
		}
		if ok && e.Cursor.After(*last) {
			pending = append(pending, e)
		}
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-events:
			if err := take(ev); err != nil {
				return err
			}
		}
	drain:
		for len(pending) < batch {
			select {
			case ev := <-events:
				if err := take(ev); err != nil {
					return err
				}
			default:
				break drain
			}
		}
		for len(pending) > 0 {
			n := min(batch, len(pending))
			if err := handle(ctx, pending[:n]); err != nil {
				return &handlerError{err: err}
			}
			*last = pending[n-1].Cursor
			pending = pending[n:]
		}
	}
}
