// Package requestlog owns the request audit: what its caller chooses to
// record (the API records every command request, accepted or refused, and
// every request refused with 401 or 403), with who sent it, what route it
// hit, how it ended and its correlation id, in an append-only table.
//
// Recording is asynchronous and batched so a command never waits for it:
// entries queue in memory (bounded; a full queue makes requests wait rather
// than drop entries) and a writer inserts them every few milliseconds with
// one COPY. Close flushes what is queued; a crash loses at most the entries
// of the last few milliseconds, never an event (events carry their own
// actor, command and correlation ids).
//
// No entry is dropped while the database is unreachable: with a SpoolDir,
// entries the database cannot take are appended to a spool file there and
// synced to disk, and written (once, in order, before newer entries) when
// the database answers again, also by the next process on that directory.
// Without one they stay queued in memory and are retried, and requests
// wait once the queue is full.
package requestlog

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the request log's migration set.
var Migrations = pgmigrate.Set{
	Name:         "request log",
	FS:           pgmigrate.Sub(migrationFiles, "migrations"),
	VersionTable: "crm_requestlog_schema_version",
}

// Entry is one recorded request.
type Entry struct {
	ID            int64     `json:"id"`
	At            time.Time `json:"at"`
	KeyID         string    `json:"key_id"`
	Actor         string    `json:"actor"`
	Role          string    `json:"role"`
	Method        string    `json:"method"`
	Route         string    `json:"route"`
	Path          string    `json:"path"`
	Status        int       `json:"status"`
	CorrelationID string    `json:"correlation_id"`
}

// Options tune a Log.
type Options struct {
	// Queue is how many entries may wait for the writer (default 4096).
	Queue int
	// Interval is the longest an entry waits before it is written
	// (default 20 ms).
	Interval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// SpoolDir, when set, is where entries wait, durably, while the
	// database cannot take them (see the package comment).
	SpoolDir string
}

// Log records requests and answers queries over them.
type Log struct {
	// recording is held for reading by Record and for writing by Close,
	// so no entry is queued after the writer's last drain.
	recording sync.RWMutex
	closed    bool

	pool  *pgxpool.Pool
	opts  Options
	queue chan Entry
	flush chan chan error
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// New starts a request log over a migrated pool (see Migrations). Close it
// to flush and stop its writer.
func New(pool *pgxpool.Pool, opts Options) *Log {
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	if opts.Interval <= 0 {
		opts.Interval = 20 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	l := &Log{pool: pool, opts: opts, queue: make(chan Entry, opts.Queue), flush: make(chan chan error),
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.write()
	return l
}

// ErrClosed is returned by Record and Flush after Close.
var ErrClosed = errors.New("request log closed")

// Record queues e. It waits while the queue is full, until ctx ends.
// Text fields are made storable first: invalid UTF-8 is replaced and NUL
// characters are dropped (a request path may hold anything).
func (l *Log) Record(ctx context.Context, e Entry) error {
	l.recording.RLock()
	defer l.recording.RUnlock()
	if l.closed {
		return ErrClosed
	}
	for _, f := range []*string{&e.KeyID, &e.Actor, &e.Role, &e.Method, &e.Route, &e.Path, &e.CorrelationID} {
		*f = storable(*f)
	}
	select {
	case l.queue <- e:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// storable is s as valid UTF-8 without NUL, which PostgreSQL text accepts.
func storable(s string) string {
	s = strings.ToValidUTF8(s, "\ufffd")
	return strings.ReplaceAll(s, "\x00", "")
}

// Flush writes every entry queued before it was called and waits (up to
// visibleWait) until List can see them: until every transaction that was
// running when they were written has ended, since List reads below the
// oldest running writer so that it never skips an entry.
func (l *Log) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case l.flush <- reply:
	case <-l.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	return l.waitVisible(ctx)
}

// visibleWait bounds how long Flush waits for older transactions to end;
// after it, List answers without the entries still hidden behind them.
const visibleWait = 2 * time.Second

// waitVisible waits until the oldest running transaction started after
// this call did, so rows committed before it are below List's horizon.
func (l *Log) waitVisible(ctx context.Context) error {
	var xmax string
	if err := l.pool.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text`).Scan(&xmax); err != nil {
		return fmt.Errorf("request log horizon: %w", err)
	}
	deadline := time.Now().Add(visibleWait)
	pause := 2 * time.Millisecond
	for {
		var visible bool
		if err := l.pool.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::text::xid8`, xmax).Scan(&visible); err != nil {
			return fmt.Errorf("request log horizon: %w", err)
		}
		if visible || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// Close writes what is queued and stops the writer. Record calls under
// way finish queuing first; later ones return ErrClosed.
func (l *Log) Close() {
	l.once.Do(func() {
		l.recording.Lock()
		l.closed = true
		l.recording.Unlock()
		close(l.stop)
	})
	<-l.done
}

// write is the writer goroutine: it batches queued entries and inserts
// them every Interval, at once on Flush, and finally on Close.
func (l *Log) write() {
	defer close(l.done)
	tick := time.NewTicker(l.opts.Interval)
	defer tick.Stop()
	var batch []Entry
	drain := func() {
		for len(batch) < l.opts.Queue {
			select {
			case e := <-l.queue:
				batch = append(batch, e)
			default:
				return
			}
		}
	}
	// While the database is failing, entries go straight to the spool
	// until retryAt, so a database that hangs never holds up the queue.
	var retryAt time.Time
	retry := time.Second
	save := func(now bool) error {
		drain()
		if l.opts.SpoolDir != "" && !now && time.Now().Before(retryAt) {
			if len(batch) == 0 {
				return errors.New("request log: database unavailable; entries spooled")
			}
			return l.keep(&batch, errors.New("database unavailable"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := l.store(ctx, &batch)
		if err != nil {
			if retryAt.IsZero() && l.opts.SpoolDir != "" {
				l.opts.Logger.Warn("request log: database unavailable; spooling entries to disk until it answers", "dir", l.opts.SpoolDir, "err", err)
			}
			retryAt = time.Now().Add(retry)
			retry = min(2*retry, 10*time.Second)
		} else {
			retryAt, retry = time.Time{}, time.Second
		}
		return err
	}
	for {
		select {
		case <-tick.C:
			_ = save(false)
		case reply := <-l.flush:
			// Asked for: the database is tried now.
			reply <- save(true)
		case <-l.stop:
			if err := save(false); err != nil && len(batch) > 0 {
				l.opts.Logger.Error("request log: entries lost at shutdown (no spool directory)", "entries", len(batch), "err", err)
			}
			return
		}
	}
}

// store writes the spooled entries and then batch, emptying batch; what
// the database cannot take is handed to keep.
func (l *Log) store(ctx context.Context, batch *[]Entry) error {
	// Entries spooled earlier go first, so the log keeps its order.
	if n, err := l.replay(ctx); err != nil {
		if len(*batch) == 0 {
			return fmt.Errorf("request log: %d spooled entries not written yet: %w", n, err)
		}
		return l.keep(batch, err)
	}
	if len(*batch) == 0 {
		return nil
	}
	err := l.insert(ctx, *batch)
	if err != nil && refusedRow(err) {
		// One bad row must not hold up the others: write them one by
		// one and drop (and log) only what the database refuses.
		err = nil
		for i, e := range *batch {
			rowErr := l.insert(ctx, []Entry{e})
			switch {
			case rowErr == nil:
			case refusedRow(rowErr):
				l.opts.Logger.Error("request log: entry refused by the database; dropped", "method", e.Method,
					"route", e.Route, "status", e.Status, "correlation_id", e.CorrelationID, "err", rowErr)
			default:
				*batch = (*batch)[:copy(*batch, (*batch)[i:])]
				return l.keep(batch, rowErr)
			}
		}
	}
	if err != nil {
		return l.keep(batch, err)
	}
	*batch = (*batch)[:0]
	return nil
}

// keep handles a batch the database did not take (err): spooled when
// there is a spool, else kept queued for the next try. It returns an
// error either way: the entries are not in the database yet.
func (l *Log) keep(batch *[]Entry, err error) error {
	if l.opts.SpoolDir != "" {
		spoolErr := l.spool(*batch)
		if spoolErr == nil {
			l.opts.Logger.Debug("request log: entries spooled to disk", "entries", len(*batch), "dir", l.opts.SpoolDir, "err", err)
			*batch = (*batch)[:0]
			return fmt.Errorf("request log: entries spooled, not yet written: %w", err)
		}
		l.opts.Logger.Error("request log: entries neither written nor spooled; retrying", "entries", len(*batch), "err", errors.Join(err, spoolErr))
		return errors.Join(err, spoolErr)
	}
	l.opts.Logger.Error("request log: entries not written; retrying", "entries", len(*batch), "err", err)
	return err
}

func (l *Log) insert(ctx context.Context, batch []Entry) error {
	rows := make([][]any, len(batch))
	for i, e := range batch {
		rows[i] = []any{e.At.UTC(), e.KeyID, e.Actor, e.Role, e.Method, e.Route, e.Path, int32(e.Status), e.CorrelationID}
	}
	_, err := l.pool.CopyFrom(ctx, pgx.Identifier{"crm_request_log"},
		[]string{"at", "key_id", "actor", "role", "method", "route", "path", "status", "correlation_id"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("insert request log entries: %w", err)
	}
	return nil
}

// Filter selects entries; zero fields do not filter. From is inclusive,
// To exclusive. After is a cursor from a previous page.
type Filter struct {
	Actor    string
	Status   int
	From, To *time.Time
	Limit    int
	After    string
}

// ErrCursor is returned for a malformed cursor.
var ErrCursor = errors.New("malformed cursor")

// Page is one page of entries in commit order, and the cursor of the next
// page (nil on the last). Entries still being written by a running
// transaction, and those after them, wait for the next read: paging never
// skips an entry.
type Page struct {
	Items      []Entry `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// List returns a keyset page of entries in recording order.
func (l *Log) List(ctx context.Context, f Filter) (Page, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	where = append(where, "transaction_id < pg_snapshot_xmin(pg_current_snapshot())")
	if f.After != "" {
		txPart, idPart, ok := strings.Cut(f.After, "-")
		tx, err1 := strconv.ParseUint(txPart, 10, 64)
		id, err2 := strconv.ParseInt(idPart, 10, 64)
		if !ok || err1 != nil || err2 != nil || id < 0 {
			return Page{}, ErrCursor
		}
		args = append(args, strconv.FormatUint(tx, 10), id)
		where = append(where, fmt.Sprintf("(transaction_id, id) > ($%d::text::xid8, $%d)", len(args)-1, len(args)))
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if f.Status != 0 {
		add("status = $%d", f.Status)
	}
	if f.From != nil {
		add("at >= $%d", *f.From)
	}
	if f.To != nil {
		add("at < $%d", *f.To)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT transaction_id::text, id, at, key_id, actor, role, method, route, path, status, correlation_id FROM crm_request_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY transaction_id, id LIMIT %d", limit+1)
	rows, err := l.pool.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list request log: %w", err)
	}
	var txids []string
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
		var e Entry
		var status int32
		var tx string
		err := row.Scan(&tx, &e.ID, &e.At, &e.KeyID, &e.Actor, &e.Role, &e.Method, &e.Route, &e.Path, &status, &e.CorrelationID)
		e.Status = int(status)
		e.At = e.At.UTC()
		txids = append(txids, tx)
		return e, err
	})
	if err != nil {
		return Page{}, fmt.Errorf("list request log: %w", err)
	}
	page := Page{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		next := txids[limit-1] + "-" + strconv.FormatInt(page.Items[limit-1].ID, 10)
		page.NextCursor = &next
	}
	if page.Items == nil {
		page.Items = []Entry{}
	}
	return page, nil
}
