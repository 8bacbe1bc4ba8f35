package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/eventstore"
)

// Errors of Rebuild.
var (
	// ErrUnknownProjector: no projector has that name.
	ErrUnknownProjector = errors.New("unknown projector")
	// ErrRebuildRunning: a rebuild of that projector is already running.
	ErrRebuildRunning = errors.New("a rebuild of this projector is already running")
)

// Counter is implemented by logs that can count their events cheaply; the
// rebuild's progress uses it for its total.
type Counter interface {
	Count(ctx context.Context) (int64, error)
}

// RebuildProgress reports a rebuild's progress: events applied so far and
// the log's size when the rebuild began (0 when unknown).
type RebuildProgress func(done, total int64)

// Rebuild rebuilds projector name from the start of the log without
// downtime: it replays the log into a shadow schema while the live tables
// keep serving (and the live projector keeps following), then, in one
// transaction that holds the projector's checkpoint, catches the shadow up
// to the live checkpoint and swaps the schemas. A crash before the swap
// leaves the live read model untouched; the next rebuild starts afresh.
//
// The replay is a bulk load: batches of Options.RebuildBatchSize events,
// read and decoded ahead of their apply, committed without waiting for
// the WAL flush (only the swap must be durable); the shadow's non-unique
// indexes are built after the load, with its statistics, unless the
// projector keeps them (IndexKeeper).
func (e *Engine) Rebuild(ctx context.Context, name string, progress RebuildProgress) error {
	p, ok := e.Projector(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownProjector, name)
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer func() {
		_ = conn.Conn().Close(context.Background())
		conn.Release()
	}()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('crm_rebuild:' || $1, 0))`, name).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return fmt.Errorf("%w: %s", ErrRebuildRunning, name)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO crm_projections (name) VALUES ($1) ON CONFLICT DO NOTHING`, name); err != nil {
		return err
	}
	err = e.rebuild(ctx, conn, p, progress)
	state, msg := "done", ""
	if err != nil {
		state, msg = "failed", err.Error()
	}
	if _, dbErr := e.pool.Exec(context.Background(), `UPDATE crm_projections SET rebuild_state = $2, rebuild_error = NULLIF($3, ''),
rebuilt_at = CASE WHEN $2 = 'done' THEN now() ELSE rebuilt_at END WHERE name = $1`, name, state, msg); dbErr != nil && err == nil {
		err = dbErr
	}
	return err
}

// rebuild runs on db, the session holding the rebuild's lock: it needs one
// connection of the pool for its writes, and one more for a moment to read
// the log (two while it reads ahead, more while it builds indexes), even
// while its swap holds the checkpoint that the live projector waits for.
//
// It prepares an empty shadow schema, replays the log into it, and swaps
// it with the live schema.
func (e *Engine) rebuild(ctx context.Context, db session, p Projector, progress RebuildProgress) error {
	shadow := SchemaName(p.Name()) + "_next"
	deferred, err := e.prepareShadow(ctx, db, p, shadow)
	if err != nil {
		return err
	}
	load, report, err := e.startRebuild(ctx, db, p, shadow, progress)
	if err != nil {
		return err
	}
	if err := e.replayIntoShadow(ctx, load, deferred); err != nil {
		return err
	}
	began := time.Now()
	done, err := e.swapShadow(ctx, db, p, shadow, load.cursor, load.done)
	if err != nil {
		return err
	}
	e.opts.Logger.Debug("rebuild: swapped", "projector", p.Name(), "events", done, "took", time.Since(began))
	load.done = done
	report(true)
	e.notify()
	return nil
}

// prepareShadow creates p's shadow schema afresh and, unless p keeps its
// indexes, drops the ones the bulk load goes without; it returns their
// definitions.
func (e *Engine) prepareShadow(ctx context.Context, db session, p Projector, shadow string) ([]string, error) {
	keep := false
	if k, ok := p.(IndexKeeper); ok {
		keep = k.KeepIndexes()
	}
	var deferred []string
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{shadow}.Sanitize()+` CASCADE`); err != nil {
			return err
		}
		if err := createSchema(ctx, tx, p, shadow); err != nil {
			return err
		}
		if keep {
			return nil
		}
		var err error
		deferred, err = deferIndexes(ctx, tx, shadow)
		return err
	})
	return deferred, err
}

// startRebuild marks p's rebuild as running, with the log's size as its
// total when the log can count it, and returns the bulk load into shadow
// and the function that reports its progress (to progress, and to the
// status at most once a second unless forced).
func (e *Engine) startRebuild(ctx context.Context, db session, p Projector, shadow string, progress RebuildProgress) (*bulkLoad, func(force bool), error) {
	name := p.Name()
	var total int64
	if c, ok := e.log.(Counter); ok {
		var err error
		if total, err = c.Count(ctx); err != nil {
			return nil, nil, err
		}
	}
	if _, err := db.Exec(ctx, `UPDATE crm_projections SET rebuild_state = 'running', rebuild_done = 0, rebuild_total = $2, rebuild_error = NULL WHERE name = $1`,
		name, total); err != nil {
		return nil, nil, err
	}
	load := &bulkLoad{e: e, db: db, p: p, shadow: shadow}
	reported := time.Now()
	report := func(force bool) {
		if progress != nil {
			progress(load.done, total)
		}
		if force || time.Since(reported) > time.Second {
			reported = time.Now()
			_, _ = db.Exec(ctx, `UPDATE crm_projections SET rebuild_done = $2 WHERE name = $1`, name, load.done)
		}
	}
	load.onBatch = func() { report(false) }
	return load, report, nil
}

// replayIntoShadow replays the log as it stands now into the shadow, in
// large batches, then builds the indexes the load went without, then
// replays what was appended meanwhile; what is appended after that is
// caught up during the swap.
func (e *Engine) replayIntoShadow(ctx context.Context, load *bulkLoad, deferred []string) error {
	name := load.p.Name()
	log := e.opts.Logger.With("projector", name)
	head, err := e.log.Head(ctx)
	if err != nil {
		return err
	}
	began := time.Now()
	if err := load.applyUntil(ctx, head); err != nil {
		return err
	}
	log.Debug("rebuild: log replayed", "events", load.done, "took", time.Since(began))
	began = time.Now()
	if err := e.finishShadow(ctx, load.shadow, deferred, e.opts.IndexWorkers); err != nil {
		return fmt.Errorf("rebuild %s: %w", name, err)
	}
	log.Debug("rebuild: indexes built, statistics gathered", "indexes", len(deferred), "took", time.Since(began))
	began = time.Now()
	if head, err = e.log.Head(ctx); err != nil {
		return err
	}
	if err := load.applyUntil(ctx, head); err != nil {
		return err
	}
	log.Debug("rebuild: caught up", "events", load.done, "took", time.Since(began))
	return nil
}

// swapShadow, in one transaction, holds p's checkpoint, brings the shadow
// (at cursor, done events applied) to at least the live checkpoint,
// renames it to the live schema, and moves the checkpoint to where the
// shadow is. It returns how many events the new live schema holds.
func (e *Engine) swapShadow(ctx context.Context, db session, p Projector, shadow string, cursor eventstore.Cursor, done int64) (int64, error) {
	name := p.Name()
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		var livePos string
		if err := tx.QueryRow(ctx, `SELECT position FROM crm_projections WHERE name = $1 FOR UPDATE`, name).Scan(&livePos); err != nil {
			return err
		}
		liveCursor, _ := eventstore.ParseCursor(livePos)
		var err error
		if cursor, done, err = e.catchUpShadow(ctx, tx, p, shadow, cursor, done, liveCursor); err != nil {
			return err
		}
		if cursor.Compare(liveCursor) < 0 {
			return fmt.Errorf("rebuild %s: the log ends at %s, before the live checkpoint %s", name, cursor, livePos)
		}
		if err := replaceLive(ctx, tx, SchemaName(name), shadow); err != nil {
			return err
		}
		pos := ""
		if !cursor.IsZero() {
			pos = cursor.String()
		}
		_, err = tx.Exec(ctx, `UPDATE crm_projections SET position = $2, events_applied = $3, rebuild_done = $3,
state = 'running', error = NULL, error_position = NULL, updated_at = now() WHERE name = $1`, name, pos, done)
		return err
	})
	return done, err
}

// catchUpShadow applies the log after cursor to the shadow within tx until
// it reaches live (or the log ends), and returns the shadow's new cursor
// and count of events.
func (e *Engine) catchUpShadow(ctx context.Context, tx pgx.Tx, p Projector, shadow string, cursor eventstore.Cursor, done int64, live eventstore.Cursor) (eventstore.Cursor, int64, error) {
	name := p.Name()
	for {
		batch, err := e.log.ReadAll(ctx, cursor, e.opts.RebuildBatchSize)
		if err != nil {
			return cursor, done, err
		}
		if len(batch) == 0 {
			return cursor, done, nil
		}
		events, decodeErr := e.decode(batch)
		if decodeErr != nil {
			return cursor, done, fmt.Errorf("rebuild %s: %w", name, decodeErr)
		}
		if err := inSchema(ctx, tx, shadow, false, func() error { return p.Apply(ctx, tx, events) }); err != nil {
			return cursor, done, fmt.Errorf("rebuild %s at %s: %w", name, batch[0].Cursor, err)
		}
		cursor = batch[len(batch)-1].Cursor
		done += int64(len(batch))
		if cursor.Compare(live) >= 0 {
			return cursor, done, nil
		}
	}
}

// replaceLive renames shadow to live, dropping the live schema it
// replaces (if any).
func replaceLive(ctx context.Context, tx pgx.Tx, live, shadow string) error {
	old := pgx.Identifier{live + "_old"}.Sanitize()
	if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+old+` CASCADE`); err != nil {
		return err
	}
	var liveExists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, live).Scan(&liveExists); err != nil {
		return err
	}
	if liveExists {
		if _, err := tx.Exec(ctx, `ALTER SCHEMA `+pgx.Identifier{live}.Sanitize()+` RENAME TO `+old); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `ALTER SCHEMA `+pgx.Identifier{shadow}.Sanitize()+` RENAME TO `+pgx.Identifier{live}.Sanitize()); err != nil {
		return err
	}
	if liveExists {
		if _, err := tx.Exec(ctx, `DROP SCHEMA `+old+` CASCADE`); err != nil {
			return err
		}
	}
	return nil
}

// Status is a projector's state as operators see it.
type Status struct {
	Name          string     `json:"name"`
	Checkpoint    string     `json:"checkpoint"`
	Head          string     `json:"head"`
	CaughtUp      bool       `json:"caught_up"`
	State         string     `json:"state"`
	Error         *string    `json:"error"`
	ErrorPosition *string    `json:"error_position"`
	EventsApplied int64      `json:"events_applied"`
	Owner         *string    `json:"owner"`
	UpdatedAt     *time.Time `json:"updated_at"`
	Rebuild       *Rebuild   `json:"rebuild"`
}

// Rebuild is the state of a projector's latest rebuild.
type Rebuild struct {
	State    string     `json:"state"`
	Done     int64      `json:"done"`
	Total    int64      `json:"total"`
	Error    *string    `json:"error"`
	LastDone *time.Time `json:"rebuilt_at"`
}

// Status reports every projector, in order.
func (e *Engine) Status(ctx context.Context) ([]Status, error) {
	head, err := e.log.Head(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(e.projectors))
	for _, name := range e.Names() {
		s := Status{Name: name, State: "idle", Head: head.String()}
		var rb Rebuild
		var rbState *string
		var updated time.Time
		err := e.pool.QueryRow(ctx, `SELECT position, state, error, error_position, events_applied, owner, updated_at,
rebuild_state, rebuild_done, rebuild_total, rebuild_error, rebuilt_at FROM crm_projections WHERE name = $1`, name).
			Scan(&s.Checkpoint, &s.State, &s.Error, &s.ErrorPosition, &s.EventsApplied, &s.Owner, &updated,
				&rbState, &rb.Done, &rb.Total, &rb.Error, &rb.LastDone)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		if err == nil {
			s.UpdatedAt = &updated
		}
		if rbState != nil {
			rb.State = *rbState
			if rb.State == "running" {
				// A rebuild whose process died leaves "running" behind;
				// only a held rebuild lock means one is under way.
				held, err := e.rebuildLockHeld(ctx, name)
				if err != nil {
					return nil, err
				}
				if !held {
					rb.State = "interrupted"
				}
			}
			s.Rebuild = &rb
		}
		c, _ := eventstore.ParseCursor(s.Checkpoint)
		s.CaughtUp = c.Compare(head) >= 0
		out = append(out, s)
	}
	return out, nil
}

// rebuildLockHeld reports whether some session holds name's rebuild lock
// (the 64-bit advisory key is split into classid and objid in pg_locks).
func (e *Engine) rebuildLockHeld(ctx context.Context, name string) (bool, error) {
	var held bool
	err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('crm_rebuild:' || $1, 0))`, name).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("rebuild lock of %s: %w", name, err)
	}
	return held, nil
}
