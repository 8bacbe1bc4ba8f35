// Package requestlog owns the request audit: every command request and
// every refused request (401, 403, any 4xx), with who sent it, what route
// it hit, how it ended and its correlation id, in an append-only table.
//
// Recording is asynchronous and batched so a command never waits for it:
// entries queue in memory (bounded; a full queue makes requests wait rather
// than drop entries) and a writer inserts them every few milliseconds with
// one COPY. Close flushes what is queued; a crash loses at most the entries
// of the last few milliseconds, never an event (events carry their own
// actor, command and correlation ids).
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

	"crm/pgmigrate"
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
}

// Log records requests and answers queries over them.
type Log struct {
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
func (l *Log) Record(ctx context.Context, e Entry) error {
	select {
	case <-l.stop:
		return ErrClosed
	default:
	}
	select {
	case l.queue <- e:
		return nil
	case <-l.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush writes every entry queued before it was called.
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
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer.
func (l *Log) Close() {
	l.once.Do(func() { close(l.stop) })
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
		for {
			select {
			case e := <-l.queue:
				batch = append(batch, e)
			default:
				return
			}
		}
	}
	save := func() error {
		drain()
		if len(batch) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := l.insert(ctx, batch)
		if err != nil {
			l.opts.Logger.Error("request log: entries not written; retrying", "entries", len(batch), "err", err)
			return err
		}
		batch = batch[:0]
		return nil
	}
	for {
		select {
		case <-tick.C:
			_ = save()
		case reply := <-l.flush:
			reply <- save()
		case <-l.stop:
			if err := save(); err != nil {
				l.opts.Logger.Error("request log: entries lost at shutdown", "entries", len(batch), "err", err)
			}
			return
		}
	}
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

// Page is one page of entries, oldest first, and the cursor of the next
// page (nil on the last).
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
	if f.After != "" {
		id, err := strconv.ParseInt(f.After, 10, 64)
		if err != nil || id < 0 {
			return Page{}, ErrCursor
		}
		add("id > $%d", id)
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
	q := `SELECT id, at, key_id, actor, role, method, route, path, status, correlation_id FROM crm_request_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY id LIMIT %d", limit+1)
	rows, err := l.pool.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list request log: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
		var e Entry
		var status int32
		err := row.Scan(&e.ID, &e.At, &e.KeyID, &e.Actor, &e.Role, &e.Method, &e.Route, &e.Path, &status, &e.CorrelationID)
		e.Status = int(status)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return Page{}, fmt.Errorf("list request log: %w", err)
	}
	page := Page{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		next := strconv.FormatInt(page.Items[limit-1].ID, 10)
		page.NextCursor = &next
	}
	if page.Items == nil {
		page.Items = []Entry{}
	}
	return page, nil
}
