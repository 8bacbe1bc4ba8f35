package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
)

// Options tunes a Store. The zero value is usable.
type Options struct {
	// Clock, when set, supplies recorded times; the database keeps them
	// only where it allows supplied times (migration 005). Nil: the
	// server's clock stamps them.
	Clock func() time.Time
	// PollInterval is the longest a live subscriber waits before looking for
	// new events when no wake-up arrives; defaults to 500 ms.
	PollInterval time.Duration
	// BatchSize is the default number of events per subscription batch;
	// defaults to 512.
	BatchSize int
	// Channel is the LISTEN/NOTIFY channel used to wake followers in other
	// processes; defaults to "crm_events".
	Channel string
	// NotifyGap is the least time between two wake-up notifications this
	// store sends, which coalesces bursts of appends; defaults to 5 ms.
	NotifyGap time.Duration
	// Logger receives background errors (lost listener connection and the
	// like); defaults to slog.Default().
	Logger *slog.Logger
	// MaxGroup is the most concurrent appends Append stores together in
	// one transaction (group commit); defaults to 64, and 1 stores each
	// append in its own.
	MaxGroup int
	// Flushers is how many groups may be being stored at once; defaults
	// to 2.
	Flushers int
}

// Store is the PostgreSQL event store. It implements eventstore.Store.
// Create it with New; Close stops its background goroutines but leaves the
// pool to its owner.
type Store struct {
	pool     *pgxpool.Pool
	opts     Options
	instance string
	wake     broadcast
	kick     chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
	closed   chan struct{}
	queue    chan *appendReq
	// qmu guards qclosed: once set, nothing more enters queue.
	qmu     sync.RWMutex
	qclosed bool

	// naiveReads makes ReadAll use a plain "position > cursor" scan. It
	// exists only so a test can show that the ordering test catches the
	// skipped events such a reader produces.
	naiveReads bool
}

var _ eventstore.Store = (*Store)(nil)

// New returns a store over pool, whose schema must be migrated (Migrate).
// It starts a listener for wake-ups from other processes and a notifier
// that sends this process's wake-ups; Close stops both.
func New(pool *pgxpool.Pool, opts Options) *Store {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	if opts.Channel == "" {
		opts.Channel = "crm_events"
	}
	if opts.NotifyGap <= 0 {
		opts.NotifyGap = 5 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxGroup == 0 {
		opts.MaxGroup = 64
	}
	if opts.Flushers <= 0 {
		opts.Flushers = 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		pool:     pool,
		opts:     opts,
		instance: uuid.NewString(),
		wake:     newBroadcast(),
		kick:     make(chan struct{}, 1),
		cancel:   cancel,
		closed:   make(chan struct{}),
		queue:    make(chan *appendReq, 4*opts.MaxGroup),
	}
	s.wg.Add(2)
	go s.listen(ctx)
	go s.notify(ctx)
	if opts.MaxGroup > 1 {
		s.wg.Add(opts.Flushers)
		for range opts.Flushers {
			go s.flushLoop(ctx)
		}
	}
	return s
}

// Close stops the background goroutines and wakes every subscriber, which
// then returns eventstore.ErrClosed. It is idempotent and does not close the
// pool.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.closed)
		s.cancel()
		s.wg.Wait()
		s.closeQueue()
	})
	return nil
}

// Pool returns the connection pool the store uses.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Append implements eventstore.Store. It fills zero event ids in streams in
// place, so a caller that retries the same slice after an unknown outcome
// gets an idempotent append. Concurrent appends with exact expectations
// and no ids of their own are stored together, a group per transaction
// (see Options.MaxGroup), each checked on its own.
func (s *Store) Append(ctx context.Context, streams ...eventstore.StreamEvents) (eventstore.AppendResult, error) {
	if s.groupable(streams) {
		return s.appendGrouped(ctx, streams)
	}
	res, err := s.append(ctx, s.pool, streams)
	if err != nil {
		return res, err
	}
	s.Committed()
	return res, nil
}

// ErrNotFirstWrite is returned by AppendTx when the transaction wrote
// something before the append. Appends must come first so that every
// stream's versions appear in the global log in order; make other writes of
// the transaction after the append.
var ErrNotFirstWrite = errors.New("an append must be the first write of its transaction")

// AppendTx appends within the caller's transaction, so other writes (such
// as a uniqueness reservation) commit or roll back together with the
// events. The append must be the transaction's first write
// (ErrNotFirstWrite otherwise), and one transaction appends once. The
// caller should call Committed after a successful commit to wake live
// followers at once; they find the events within PollInterval otherwise.
func (s *Store) AppendTx(ctx context.Context, tx pgx.Tx, streams ...eventstore.StreamEvents) (eventstore.AppendResult, error) {
	return s.append(ctx, tx, streams)
}

// Committed wakes live followers after events were committed outside
// Append (see AppendTx). It never blocks.
func (s *Store) Committed() {
	s.wake.signal()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const appendSQL = `SELECT out_ord, out_version, out_tx, out_position, out_recorded_at
FROM crm_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

// appendColumns are an append's events as the append functions take them:
// one array per column, in event order.
type appendColumns struct {
	ids                         []uuid.UUID
	idx, offs, schema           []int32
	types, actor, command, corr []string
	cause                       []string
	data                        [][]byte
}

func newAppendColumns(n int) *appendColumns {
	return &appendColumns{ids: make([]uuid.UUID, 0, n), idx: make([]int32, 0, n), offs: make([]int32, 0, n),
		schema: make([]int32, 0, n), types: make([]string, 0, n), actor: make([]string, 0, n),
		command: make([]string, 0, n), corr: make([]string, 0, n), cause: make([]string, 0, n), data: make([][]byte, 0, n)}
}

// add appends event e, the off-th of the stream at index stream (both
// from 1).
func (c *appendColumns) add(stream, off int, e eventstore.EventData) {
	c.ids = append(c.ids, e.ID)
	c.idx = append(c.idx, int32(stream))
	c.offs = append(c.offs, int32(off))
	c.types = append(c.types, e.Type)
	c.schema = append(c.schema, int32(e.SchemaVersion))
	c.data = append(c.data, e.Data)
	c.actor = append(c.actor, e.Metadata.Actor)
	c.command = append(c.command, e.Metadata.CommandID)
	c.corr = append(c.corr, e.Metadata.CorrelationID)
	c.cause = append(c.cause, e.Metadata.CausationID)
}

// suppliedTime is the recorded time the store passes: nil, so that the
// database's clock stamps the events, unless a Clock is set.
func (s *Store) suppliedTime() *time.Time {
	if s.opts.Clock == nil {
		return nil
	}
	now := s.opts.Clock().UTC().Truncate(time.Microsecond)
	return &now
}

func (s *Store) append(ctx context.Context, q querier, streams []eventstore.StreamEvents) (eventstore.AppendResult, error) {
	select {
	case <-s.closed:
		return eventstore.AppendResult{}, eventstore.ErrClosed
	default:
	}
	if err := eventstore.CheckAppend(streams); err != nil {
		return eventstore.AppendResult{}, err
	}
	n := 0
	for _, st := range streams {
		n += len(st.Events)
	}
	var (
		cols     = newAppendColumns(n)
		names    = make([]string, len(streams))
		expected = make([]int64, len(streams))
		out      = make([]eventstore.Event, 0, n)
	)
	for si, st := range streams {
		names[si], expected[si] = st.StreamID, int64(st.Expected)
		for ei, e := range st.Events {
			cols.add(si+1, ei+1, e)
			out = append(out, eventstore.Event{
				ID: e.ID, StreamID: st.StreamID, Type: e.Type, SchemaVersion: e.SchemaVersion,
				Data: e.Data, Metadata: e.Metadata,
			})
		}
	}
	supplied := s.suppliedTime()
	rows, err := q.Query(ctx, appendSQL, names, expected, cols.idx, cols.offs, cols.ids, cols.types, cols.schema, cols.data,
		cols.actor, cols.command, cols.corr, cols.cause, supplied)
	if err != nil {
		return eventstore.AppendResult{}, s.appendError(err, streams)
	}
	var (
		ord, got int
		version  int64
		tx       uint64
		pos      int64
		at       time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&ord, &version, &tx, &pos, &at}, func() error {
		if ord < 1 || ord > len(out) {
			return fmt.Errorf("append returned event ordinal %d of %d", ord, len(out))
		}
		e := &out[ord-1]
		e.Version, e.Cursor, e.RecordedAt = version, eventstore.Cursor{Major: tx, Minor: uint64(pos)}, at.UTC()
		got++
		return nil
	})
	if err != nil {
		return eventstore.AppendResult{}, s.appendError(err, streams)
	}
	if got != len(out) {
		return eventstore.AppendResult{}, fmt.Errorf("append: stored %d of %d events", got, len(out))
	}
	res := eventstore.AppendResult{Events: out}
	for _, e := range out {
		if e.Cursor.After(res.Position) {
			res.Position = e.Cursor
		}
	}
	return res, nil
}

// appendError maps the append function's errors to the contract's.
func (s *Store) appendError(err error, streams []eventstore.StreamEvents) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("append: %w", err)
	}
	switch {
	case pgErr.Code == "CR001":
		actual, _ := strconv.ParseInt(pgErr.Hint, 10, 64)
		conflict := &eventstore.VersionConflictError{StreamID: pgErr.Detail, Actual: actual}
		for _, st := range streams {
			if st.StreamID == pgErr.Detail {
				conflict.Expected = st.Expected
			}
		}
		return conflict
	case pgErr.Code == "CR004":
		return fmt.Errorf("append: %w", ErrNotFirstWrite)
	case pgErr.Code == "CR002",
		pgErr.Code == "23505" && pgErr.ConstraintName == "crm_events_event_id_key":
		return fmt.Errorf("append: %w", eventstore.ErrDuplicateEvent)
	}
	return fmt.Errorf("append: %w", err)
}

const eventColumns = `event_id, stream_id, version, transaction_id, position, type, schema_version,
data, actor, command_id, correlation_id, causation_id, recorded_at`

const readStreamSQL = `SELECT ` + eventColumns + ` FROM crm_events
WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, streamID string, opts eventstore.ReadOptions) ([]eventstore.Event, error) {
	var limit *int64
	if opts.Limit > 0 {
		l := int64(opts.Limit)
		limit = &l
	}
	rows, err := s.pool.Query(ctx, readStreamSQL, streamID, opts.FromVersion, limit)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", streamID, err)
	}
	events, err := scanEvents(rows, opts.Until)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", streamID, err)
	}
	if len(events) == 0 {
		exists := false
		if opts.FromVersion > 1 && opts.Until.IsZero() {
			err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM crm_streams WHERE stream_id = $1)`, streamID).Scan(&exists)
			if err != nil {
				return nil, fmt.Errorf("read stream %s: %w", streamID, err)
			}
		}
		if !exists {
			return nil, fmt.Errorf("read stream %s: %w", streamID, eventstore.ErrStreamNotFound)
		}
	}
	return events, nil
}

// readAllSQL reads only rows whose transaction lies below the oldest
// transaction still running: those rows are final (committed and visible,
// or rolled back and gone), so (transaction_id, position) order is the same
// for every reader and no later commit can land behind the cursor.
const readAllSQL = `SELECT ` + eventColumns + ` FROM crm_events
WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY transaction_id, position LIMIT $3`

const readAllNaiveSQL = `SELECT ` + eventColumns + ` FROM crm_events
WHERE position > $2::bigint AND $1::xid8 IS NOT NULL
ORDER BY position LIMIT $3`

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error) {
	if limit <= 0 {
		limit = s.opts.BatchSize
	}
	if after.Minor > math.MaxInt64 {
		// Positions are bigint: no event of this store lies at such a
		// cursor, so it was not made here.
		return nil, fmt.Errorf("read log after %q: %w: position beyond bigint", after, eventstore.ErrInvalidCursor)
	}
	q := readAllSQL
	if s.naiveReads {
		q = readAllNaiveSQL
	}
	rows, err := s.pool.Query(ctx, q, after.Major, after.Minor, limit)
	if err != nil {
		return nil, fmt.Errorf("read log after %q: %w", after, err)
	}
	events, err := scanEvents(rows, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("read log after %q: %w", after, err)
	}
	return events, nil
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (eventstore.Cursor, error) {
	var tx uint64
	var pos int64
	err := s.pool.QueryRow(ctx, `SELECT transaction_id, position FROM crm_events
WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY transaction_id DESC, position DESC LIMIT 1`).Scan(&tx, &pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Cursor{}, nil
	}
	if err != nil {
		return eventstore.Cursor{}, fmt.Errorf("log head: %w", err)
	}
	return eventstore.Cursor{Major: tx, Minor: uint64(pos)}, nil
}

// Newest returns the cursor of the newest committed event, which may lie
// beyond Head while an older transaction is still open: a reader that
// waits for it has seen every event committed before the call.
func (s *Store) Newest(ctx context.Context) (eventstore.Cursor, error) {
	var tx uint64
	var pos int64
	err := s.pool.QueryRow(ctx, `SELECT transaction_id, position FROM crm_events
ORDER BY transaction_id DESC, position DESC LIMIT 1`).Scan(&tx, &pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Cursor{}, nil
	}
	if err != nil {
		return eventstore.Cursor{}, fmt.Errorf("newest event: %w", err)
	}
	return eventstore.Cursor{Major: tx, Minor: uint64(pos)}, nil
}

// scanEvents reads event rows; with a non-zero until it stops at the first
// event recorded after it (the stream's prefix as it stood then).
func scanEvents(rows pgx.Rows, until time.Time) ([]eventstore.Event, error) {
	defer rows.Close()
	var events []eventstore.Event
	for rows.Next() {
		var (
			e    eventstore.Event
			tx   uint64
			pos  int64
			data []byte
		)
		// Data is scanned as bytes: the database holds it as jsonb, so it
		// is valid JSON, and decoding it only to check that would cost
		// every reader of the log.
		err := rows.Scan(&e.ID, &e.StreamID, &e.Version, &tx, &pos, &e.Type, &e.SchemaVersion,
			&data, &e.Metadata.Actor, &e.Metadata.CommandID, &e.Metadata.CorrelationID,
			&e.Metadata.CausationID, &e.RecordedAt)
		if err != nil {
			return nil, err
		}
		if !until.IsZero() && e.RecordedAt.After(until) {
			break
		}
		e.Data = data
		e.Cursor = eventstore.Cursor{Major: tx, Minor: uint64(pos)}
		e.RecordedAt = e.RecordedAt.UTC()
		events = append(events, e)
	}
	return events, rows.Err()
}

// Count returns the number of committed events in the log.
func (s *Store) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM crm_events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}
