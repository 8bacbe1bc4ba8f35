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
	err = e.rebuild(ctx, p, progress)
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

func (e *Engine) rebuild(ctx context.Context, p Projector, progress RebuildProgress) error {
	name := p.Name()
	live, shadow := SchemaName(name), SchemaName(name)+"_next"
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{shadow}.Sanitize()+` CASCADE`); err != nil {
			return err
		}
		return createSchema(ctx, tx, p, shadow)
	})
	if err != nil {
		return err
	}
	var total int64
	if c, ok := e.log.(Counter); ok {
		if total, err = c.Count(ctx); err != nil {
			return err
		}
	}
	if _, err := e.pool.Exec(ctx, `UPDATE crm_projections SET rebuild_state = 'running', rebuild_done = 0, rebuild_total = $2, rebuild_error = NULL WHERE name = $1`,
		name, total); err != nil {
		return err
	}
	var (
		cursor   eventstore.Cursor
		done     int64
		reported = time.Now()
	)
	report := func(force bool) {
		if progress != nil {
			progress(done, total)
		}
		if force || time.Since(reported) > time.Second {
			reported = time.Now()
			_, _ = e.pool.Exec(ctx, `UPDATE crm_projections SET rebuild_done = $2 WHERE name = $1`, name, done)
		}
	}
	// Replay the log as it stands now into the shadow, one transaction per
	// batch; what is appended meanwhile is caught up during the swap.
	head, err := e.log.Head(ctx)
	if err != nil {
		return err
	}
	for cursor.Compare(head) < 0 {
		batch, err := e.log.ReadAll(ctx, cursor, e.opts.BatchSize)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
			return inSchema(ctx, tx, shadow, func() error { return p.Apply(ctx, tx, e.decode(batch)) })
		})
		if err != nil {
			return fmt.Errorf("rebuild %s at %s: %w", name, batch[0].Cursor, err)
		}
		cursor = batch[len(batch)-1].Cursor
		done += int64(len(batch))
		report(false)
	}
	// Swap: hold the checkpoint, bring the shadow to at least the live
	// checkpoint, rename, and move the checkpoint to where the shadow is.
	err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		var livePos string
		if err := tx.QueryRow(ctx, `SELECT position FROM crm_projections WHERE name = $1 FOR UPDATE`, name).Scan(&livePos); err != nil {
			return err
		}
		liveCursor, _ := eventstore.ParseCursor(livePos)
		for {
			batch, err := e.log.ReadAll(ctx, cursor, e.opts.BatchSize)
			if err != nil {
				return err
			}
			if len(batch) == 0 {
				break
			}
			if err := inSchema(ctx, tx, shadow, func() error { return p.Apply(ctx, tx, e.decode(batch)) }); err != nil {
				return fmt.Errorf("rebuild %s at %s: %w", name, batch[0].Cursor, err)
			}
			cursor = batch[len(batch)-1].Cursor
			done += int64(len(batch))
			if cursor.Compare(liveCursor) >= 0 {
				break
			}
		}
		if cursor.Compare(liveCursor) < 0 {
			return fmt.Errorf("rebuild %s: the log ends at %s, before the live checkpoint %s", name, cursor, livePos)
		}
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
		pos := ""
		if !cursor.IsZero() {
			pos = cursor.String()
		}
		_, err := tx.Exec(ctx, `UPDATE crm_projections SET position = $2, events_applied = $3, rebuild_done = $3,
state = 'running', error = NULL, error_position = NULL, updated_at = now() WHERE name = $1`, name, pos, done)
		return err
	})
	if err != nil {
		return err
	}
	report(true)
	e.notify()
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
			s.Rebuild = &rb
		}
		c, _ := eventstore.ParseCursor(s.Checkpoint)
		s.CaughtUp = c.Compare(head) >= 0
		out = append(out, s)
	}
	return out, nil
}
