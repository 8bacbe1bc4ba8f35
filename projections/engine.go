package projections

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/aggregates"
	"crm/eventstore"
	"crm/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the checkpoint table.
var Migrations = pgmigrate.Set{Name: "projections", FS: pgmigrate.Sub(migrationFiles, "migrations"), VersionTable: "crm_schema_projections"}

// Log is the part of the event store the engine reads.
type Log interface {
	ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error)
	Head(ctx context.Context) (eventstore.Cursor, error)
	Subscribe(ctx context.Context, opts eventstore.SubscribeOptions, handle func(context.Context, []eventstore.Event) error) error
}

// Options configure an Engine.
type Options struct {
	// BatchSize is the most events applied in one transaction while a
	// projector follows the log live (default 1000).
	BatchSize int
	// RebuildBatchSize is the most events applied in one transaction when
	// the log is replayed in bulk: by a rebuild, and by a projector that
	// starts behind the log (new, or its schema dropped) until it has
	// caught up (default 10000).
	RebuildBatchSize int
	// IndexWorkers is how many statements (index builds, ANALYZE) a
	// rebuild runs at once between its bulk load and its swap (default 2).
	IndexWorkers int
	// StandbyRetry is how often a standby tries to take a projector held by
	// another process (default 1 s).
	StandbyRetry time.Duration
	// FailedRetry is how long a failed projector waits before trying its
	// failing batch again (default 30 s).
	FailedRetry time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Owner names this process in status (default host:pid).
	Owner string
	// Observer, when set, watches every batch a projector applies while
	// it follows the log (metrics, traces).
	Observer BatchObserver
}

// BatchObserver watches projector batches. StartBatch is called before a
// batch of events is applied; done is called once with its outcome.
type BatchObserver interface {
	StartBatch(ctx context.Context, projector string, events int) (_ context.Context, done func(error))
}

// Engine runs projectors: each catches up from its checkpoint and follows
// the log live, applying batches in one transaction with the checkpoint.
// Each projector runs in exactly one process at a time (a PostgreSQL
// advisory lock); other processes stand by and take over when it dies.
type Engine struct {
	pool       *pgxpool.Pool
	log        Log
	codec      *eventstore.Registry
	projectors []Projector
	opts       Options

	mu      sync.Mutex
	changed chan struct{}  // closed and replaced whenever a checkpoint moves here
	vacuums sync.WaitGroup // post-erasure rewrites in flight; Run waits for them
	// Tables to rewrite after erasures, the transaction horizon they wait
	// for, and whether a rewrite is running (under mu).
	scrub        map[string]bool
	scrubHorizon uint64
	scrubbing    bool
	// schemaChecked holds the names of projectors whose live schema was
	// found to match their Setup (upgradeSchema).
	schemaChecked sync.Map
}

// New returns an engine over a migrated pool (see Migrations).
func New(pool *pgxpool.Pool, log Log, codec *eventstore.Registry, projectors []Projector, opts Options) *Engine {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.RebuildBatchSize <= 0 {
		opts.RebuildBatchSize = 10000
	}
	if opts.IndexWorkers <= 0 {
		opts.IndexWorkers = 2
	}
	if opts.StandbyRetry <= 0 {
		opts.StandbyRetry = time.Second
	}
	if opts.FailedRetry <= 0 {
		opts.FailedRetry = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Owner == "" {
		host, _ := os.Hostname()
		opts.Owner = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	return &Engine{pool: pool, log: log, codec: codec, projectors: projectors, opts: opts, changed: make(chan struct{})}
}

// Projector returns the projector called name.
func (e *Engine) Projector(name string) (Projector, bool) {
	for _, p := range e.projectors {
		if p.Name() == name {
			return p, true
		}
	}
	return nil, false
}

// Names lists the projectors in order.
func (e *Engine) Names() []string {
	out := make([]string, len(e.projectors))
	for i, p := range e.projectors {
		out[i] = p.Name()
	}
	return out
}

// Run runs every projector until ctx ends; it returns nil then.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, p := range e.projectors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.runProjector(ctx, p)
		}()
	}
	wg.Wait()
	e.vacuums.Wait()
	return nil
}

// lockKey is the advisory lock of a projector.
const lockSQL = `SELECT pg_try_advisory_lock(hashtextextended('crm_projection:' || $1, 0))`

// runProjector holds p while this process may, standing by otherwise.
func (e *Engine) runProjector(ctx context.Context, p Projector) {
	log := e.opts.Logger.With("projector", p.Name())
	for ctx.Err() == nil {
		err := e.holdAndRun(ctx, p)
		wait := e.opts.StandbyRetry
		var failed *failure
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errStandby):
		case errors.Is(err, errCheckpointMoved):
			log.Info("checkpoint moved (rebuilt or taken over); resuming from the stored checkpoint")
			wait = 0
		case errors.As(err, &failed):
			log.Error("projector failed; it stays stopped at the failing event and retries later", "position", failed.position, "err", failed.err)
			wait = e.opts.FailedRetry
		case err != nil:
			log.Warn("projector interrupted", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

var (
	errStandby         = errors.New("held by another process")
	errCheckpointMoved = errors.New("checkpoint moved")
)

// failure is a projector error at a known event.
type failure struct {
	position string
	err      error
}

func (f *failure) Error() string { return fmt.Sprintf("at %s: %v", f.position, f.err) }
func (f *failure) Unwrap() error { return f.err }

// holdAndRun takes p's lock and applies the log until an error or ctx ends.
func (e *Engine) holdAndRun(ctx context.Context, p Projector) error {
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	var locked bool
	if err := conn.QueryRow(ctx, lockSQL, p.Name()).Scan(&locked); err != nil {
		conn.Release()
		return err
	}
	if !locked {
		conn.Release()
		return errStandby
	}
	defer func() {
		// Closing the session releases the lock even when ctx is over.
		_ = conn.Conn().Close(context.Background())
		conn.Release()
	}()
	// Everything the projector writes goes through the session holding its
	// lock: a projector needs one connection of the pool, plus one for a
	// moment while it reads the log, however long it waits for a row lock
	// (a rebuild's swap holds its checkpoint).
	pos, err := e.ensureOn(ctx, conn, p)
	if err != nil {
		return err
	}
	if rebuilt, err := e.upgradeSchema(ctx, conn, p); err != nil {
		return err
	} else if rebuilt {
		if pos, err = e.ensureOn(ctx, conn, p); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, `UPDATE crm_projections SET owner = $2, state = CASE WHEN state = 'failed' THEN state ELSE 'running' END, updated_at = now() WHERE name = $1`,
		p.Name(), e.opts.Owner); err != nil {
		return err
	}
	if _, err := eventstore.ParseCursor(pos); err != nil && pos != "" {
		return fmt.Errorf("stored checkpoint %q: %w", pos, err)
	}
	if pos, err = e.catchUp(ctx, conn, p, pos); err != nil {
		return err
	}
	after, _ := eventstore.ParseCursor(pos)
	return e.log.Subscribe(ctx, eventstore.SubscribeOptions{After: after, BatchSize: e.opts.BatchSize},
		func(ctx context.Context, batch []eventstore.Event) error {
			events, decodeErr := e.decode(batch)
			next, err := e.applyDecoded(ctx, conn, p, pos, events, decodeErr)
			pos = next
			return err
		})
}

// catchUp applies the log after pos to p's live schema in batches of
// Options.RebuildBatchSize, read ahead of their apply, until a read comes
// back short: a projector that starts far behind catches up in large
// transactions before it follows the log in small ones. It returns the
// new checkpoint.
func (e *Engine) catchUp(ctx context.Context, db session, p Projector, pos string) (string, error) {
	after, _ := eventstore.ParseCursor(pos)
	batches, stop := e.readAhead(ctx, after, eventstore.Cursor{}, e.opts.RebuildBatchSize)
	defer stop()
	for b := range batches {
		if b.err != nil {
			return pos, b.err
		}
		next, err := e.applyDecoded(ctx, db, p, pos, b.events, b.decodeErr)
		pos = next
		if err != nil {
			return pos, err
		}
	}
	return pos, ctx.Err()
}

// session is where the engine runs statements and transactions: the pool,
// or one of its connections that the engine holds.
type session interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// ensure creates p's schema and checkpoint row when missing and returns
// the checkpoint.
func (e *Engine) ensure(ctx context.Context, p Projector) (string, error) {
	return e.ensureOn(ctx, e.pool, p)
}

// ensureOn is ensure, run on db.
func (e *Engine) ensureOn(ctx context.Context, db session, p Projector) (string, error) {
	var pos string
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO crm_projections (name) VALUES ($1) ON CONFLICT DO NOTHING`, p.Name()); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT position FROM crm_projections WHERE name = $1 FOR UPDATE`, p.Name()).Scan(&pos); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, SchemaName(p.Name())).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		// A missing schema (first start, or dropped by an operator) is built
		// from the start of the log.
		if err := createSchema(ctx, tx, p, SchemaName(p.Name())); err != nil {
			return err
		}
		pos = ""
		_, err := tx.Exec(ctx, `UPDATE crm_projections SET position = '', events_applied = 0, state = 'running', error = NULL, error_position = NULL, updated_at = now() WHERE name = $1`, p.Name())
		return err
	})
	return pos, err
}

func createSchema(ctx context.Context, tx pgx.Tx, p Projector, schema string) error {
	if _, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	return inSchema(ctx, tx, schema, false, func() error {
		if err := p.Setup(ctx, tx); err != nil {
			return fmt.Errorf("set up %s: %w", p.Name(), err)
		}
		return nil
	})
}

// enterSchemaSQL saves the search_path, sets it to $1, makes every
// statement planned for its parameters and, when $2, lets the transaction
// commit without waiting for its WAL to be flushed.
//
// Plans are custom because projector statements run against tables whose
// size changes by orders of magnitude (a rebuild's shadow starts empty): a
// generic plan cached while a table was small (a sequential scan) would be
// kept while it grows.
const enterSchemaSQL = `WITH o AS MATERIALIZED (SELECT current_setting('search_path') AS path)
SELECT o.path, set_config('search_path', $1, true), set_config('plan_cache_mode', 'force_custom_plan', true),
       CASE WHEN $2::bool THEN set_config('synchronous_commit', 'off', true) END
FROM o`

// inSchema runs fn with the transaction's search_path set to schema alone,
// then restores it (the engine's own tables live on the usual path).
// Statements are planned for their parameters; with bulk, the transaction
// commits without waiting for its WAL flush, which only rebuilds into a
// shadow schema use: the swap commits durably, and flushing its commit
// record flushes the WAL of every batch before it.
func inSchema(ctx context.Context, tx pgx.Tx, schema string, bulk bool, fn func() error) error {
	var orig string
	if err := tx.QueryRow(ctx, enterSchemaSQL, pgx.Identifier{schema}.Sanitize(), bulk).Scan(&orig, nil, nil, nil); err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, orig)
	return err
}

// decode attaches domain events. A type this build does not know keeps a
// nil Domain, for projectors to pass over; a known type whose data fails
// to decode or upcast ends the batch there: decode returns the events
// before it and a *failure at its position, so the projector stops at it
// instead of skipping it.
func (e *Engine) decode(batch []eventstore.Event) ([]Event, error) {
	out := make([]Event, len(batch))
	for i, ev := range batch {
		out[i].Event = ev
		v, err := e.codec.Decode(ev.Type, ev.Data)
		if errors.Is(err, eventstore.ErrUnknownEventType) {
			continue
		}
		if err != nil {
			return out[:i], &failure{position: ev.Cursor.String(), err: err}
		}
		out[i].Domain, _ = v.(aggregates.Event)
	}
	return out, nil
}

// applyDecoded applies to the live schema the events decoded before
// decodeErr (see decode) and, when decoding failed, records the failure
// at its position and returns it: the projector stops there.
func (e *Engine) applyDecoded(ctx context.Context, db session, p Projector, pos string, events []Event, decodeErr error) (string, error) {
	if len(events) > 0 {
		next, err := e.applyBatch(ctx, db, p, SchemaName(p.Name()), pos, events)
		if err != nil {
			return next, err
		}
		pos = next
	}
	var failed *failure
	if errors.As(decodeErr, &failed) {
		e.recordFailure(ctx, p.Name(), failed.position, failed.err)
	}
	return pos, decodeErr
}

// applyBatch applies events to the live schema with the checkpoint
// compare-and-set from pos; on a projector error it finds the failing
// event, applies the ones before it, and records the failure.
func (e *Engine) applyBatch(ctx context.Context, db session, p Projector, schema, pos string, events []Event) (next string, err error) {
	if e.opts.Observer != nil {
		var done func(error)
		ctx, done = e.opts.Observer.StartBatch(ctx, p.Name(), len(events))
		defer func() { done(err) }()
	}
	next, err = e.applyTx(ctx, db, p, schema, pos, events)
	if err == nil || errors.Is(err, errCheckpointMoved) || ctx.Err() != nil {
		return next, err
	}
	var perr *projectorError
	if !errors.As(err, &perr) {
		return pos, err
	}
	// Pinpoint the failing event by halving: a batch of n events costs
	// about 2·log2(n) transactions, not n.
	for len(events) > 1 {
		// Here events fail as one batch, with perr.
		half := events[:len(events)/2]
		next, err := e.applyTx(ctx, db, p, schema, pos, half)
		switch {
		case err == nil:
			pos, events = next, events[len(half):]
			next, err = e.applyTx(ctx, db, p, schema, pos, events)
			if err == nil {
				return next, nil
			}
			if !errors.As(err, &perr) {
				return pos, err
			}
		case errors.As(err, &perr):
			events = half
		default:
			return pos, err
		}
	}
	at := events[0].Cursor.String()
	e.recordFailure(ctx, p.Name(), at, perr.err)
	return pos, &failure{position: at, err: perr.err}
}

// projectorError is an error returned by a projector's Apply.
type projectorError struct{ err error }

func (e *projectorError) Error() string { return e.err.Error() }

// checkpointSQL advances a projector's checkpoint from $5 to $2 when it
// is still at $5. As the batch's first statement it also locks the
// checkpoint row first, so a rebuild's swap and the batch serialise
// without deadlock; a swap that committed meanwhile leaves no row to
// update.
const checkpointSQL = `UPDATE crm_projections SET position = $2, events_applied = events_applied + $3,
state = 'running', error = NULL, error_position = NULL, owner = $4, updated_at = now() WHERE name = $1 AND position = $5`

// liveSchemaSQL sets the transaction's search_path to $1 and plans its
// statements for their parameters (see enterSchemaSQL). The settings end
// with the transaction.
const liveSchemaSQL = `SELECT set_config('search_path', $1, true), set_config('plan_cache_mode', 'force_custom_plan', true)`

// applyTx applies events in one transaction whose checkpoint update and
// schema settings share one round trip ahead of the projector's own
// statements; the checkpoint moves first, but commits only with them.
func (e *Engine) applyTx(ctx context.Context, db session, p Projector, schema, pos string, events []Event) (string, error) {
	next := events[len(events)-1].Cursor.String()
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(checkpointSQL, p.Name(), next, len(events), e.opts.Owner, pos)
		b.Queue(liveSchemaSQL, pgx.Identifier{schema}.Sanitize())
		br := tx.SendBatch(ctx, b)
		tag, err := br.Exec()
		if err == nil && tag.RowsAffected() == 0 {
			err = errCheckpointMoved
		}
		if err == nil {
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if err := p.Apply(ctx, tx, events); err != nil {
			return &projectorError{err: err}
		}
		return nil
	})
	if err != nil {
		return pos, err
	}
	e.notify()
	if s, ok := p.(Scrubber); ok {
		if tables := s.Scrubbed(events); len(tables) > 0 {
			e.vacuumScrubbed(ctx, p.Name(), schema, tables)
		}
	}
	return next, nil
}

// vacuumScrubbed has the tables a projector overwrote for an erasure
// rewritten (VACUUM FULL) in the background, once every transaction of
// the database that could still see their old row versions has ended:
// a plain VACUUM removes the old versions but leaves their bytes in the
// pages' free space, a rewrite copies only the live rows into new files.
// Erasures that commit while a rewrite runs are coalesced into the next
// one. It stops when ctx ends; the rewrite needs the engine's role to own
// the tables, as it does when it created them.
func (e *Engine) vacuumScrubbed(ctx context.Context, projector, schema string, tables []string) {
	var horizon uint64
	if err := e.pool.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&horizon); err != nil {
		e.opts.Logger.Warn("vacuum after an erasure: read the transaction horizon", "projector", projector, "err", err)
		return
	}
	e.mu.Lock()
	if e.scrub == nil {
		e.scrub = map[string]bool{}
	}
	for _, t := range tables {
		e.scrub[pgx.Identifier{schema, t}.Sanitize()] = true
	}
	e.scrubHorizon = max(e.scrubHorizon, horizon)
	if e.scrubbing {
		e.mu.Unlock()
		return
	}
	e.scrubbing = true
	e.mu.Unlock()
	e.vacuums.Add(1)
	go func() {
		defer e.vacuums.Done()
		defer func() {
			e.mu.Lock()
			e.scrubbing = false
			e.mu.Unlock()
		}()
		for ctx.Err() == nil {
			e.mu.Lock()
			names := make([]string, 0, len(e.scrub))
			for n := range e.scrub {
				names = append(names, n)
			}
			h := e.scrubHorizon
			e.scrub = map[string]bool{}
			e.mu.Unlock()
			if len(names) == 0 {
				return
			}
			slices.Sort(names)
			if err := e.rewrite(ctx, h, names); err != nil && ctx.Err() == nil {
				e.opts.Logger.Warn("vacuum after an erasure: autovacuum removes the old rows later", "tables", names, "err", err)
			}
		}
	}()
}

// rewrite waits (up to a minute) until no transaction of the database
// that began before horizon runs, then rewrites each table, taking its
// lock with a one-second lock timeout and trying again while it is busy.
func (e *Engine) rewrite(ctx context.Context, horizon uint64, names []string) error {
	low := fmt.Sprint(horizon & 0xFFFFFFFF)
	for deadline := time.Now().Add(time.Minute); ; {
		var older bool
		// backend_xmin and backend_xid are 32-bit: compare their ages.
		if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND ((backend_xmin IS NOT NULL AND age(backend_xmin) > age($1::text::xid)) OR (backend_xid IS NOT NULL AND age(backend_xid) > age($1::text::xid))))`,
			low).Scan(&older); err != nil {
			return err
		}
		if !older {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("transactions older than the erasure still run")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET lock_timeout = '1s'`); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `RESET lock_timeout`) }()
	for _, name := range names {
		for attempt := 1; ; attempt++ {
			_, err := conn.Exec(ctx, `VACUUM (FULL, ANALYZE) `+name)
			var pgErr *pgconn.PgError
			switch {
			case err == nil:
			case errors.As(err, &pgErr) && pgErr.Code == "42P01": // a rebuild's shadow swapped away meanwhile
			case errors.As(err, &pgErr) && pgErr.Code == "55P03" && attempt < 30: // busy: try again
				continue
			default:
				return fmt.Errorf("rewrite %s: %w", name, err)
			}
			break
		}
	}
	return nil
}

func (e *Engine) recordFailure(ctx context.Context, name, position string, err error) {
	if _, dbErr := e.pool.Exec(ctx, `UPDATE crm_projections SET state = 'failed', error = $2, error_position = $3, updated_at = now() WHERE name = $1`,
		name, err.Error(), position); dbErr != nil {
		e.opts.Logger.Error("record projector failure", "projector", name, "err", dbErr)
	}
}

// notify wakes WaitFor callers of this process.
func (e *Engine) notify() {
	e.mu.Lock()
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

func (e *Engine) changes() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// Checkpoint returns the position up to which the named projector has
// applied the log ("": nothing yet, or no such projector).
func (e *Engine) Checkpoint(ctx context.Context, name string) (string, error) {
	var pos string
	err := e.pool.QueryRow(ctx, `SELECT position FROM crm_projections WHERE name = $1`, name).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("checkpoint of %s: %w", name, err)
	}
	return pos, nil
}

// ErrBadPosition reports a malformed position given to WaitFor.
var ErrBadPosition = errors.New("malformed position")

// WaitFor blocks until every named projector (all when none are named) has
// applied the log up to position, or ctx ends. It follows projectors run by
// other processes too (it reads their checkpoints).
func (e *Engine) WaitFor(ctx context.Context, position string, names ...string) error {
	want, err := eventstore.ParseCursor(position)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrBadPosition, position)
	}
	if len(names) == 0 {
		names = e.Names()
	}
	for {
		wake := e.changes()
		rows, err := e.pool.Query(ctx, `SELECT position FROM crm_projections WHERE name = ANY($1)`, names)
		if err != nil {
			return err
		}
		reached := 0
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return err
			}
			if c, err := eventstore.ParseCursor(p); err == nil && c.Compare(want) >= 0 {
				reached++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if reached == len(names) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-time.After(20 * time.Millisecond):
		}
	}
}
