package projections

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"crm/eventstore"
)

// IndexKeeper is implemented by projectors whose Apply reads through
// secondary indexes. By default a rebuild drops the shadow schema's
// non-unique indexes right after Setup and builds them once the bulk load
// is done, before the swap: during the load Apply finds only primary keys,
// unique indexes and constraints. A projector that needs its other indexes
// while applying returns true from KeepIndexes.
type IndexKeeper interface {
	// KeepIndexes reports whether a rebuild must keep every index while
	// it replays the log.
	KeepIndexes() bool
}

// logBatch is one batch of the log read ahead of its apply: the stored
// events, decoded, or the error that ended the reading. A batch holding a
// known event that fails to decode is the last: events ends before it and
// decodeErr says where and why (see Engine.decode).
type logBatch struct {
	stored    []eventstore.Event
	events    []Event
	decodeErr error
	err       error
}

// readAhead reads the log after `after` in batches of n events ahead of
// the consumer, in two stages that overlap each other and the consumer's
// apply: one goroutine reads the next batch while another decodes the one
// before. It stops after a batch shorter than n, after the batch that
// reaches until (unless until is zero), after an error (sent as the last
// batch), or when ctx ends. The consumer ranges over the channel and calls
// stop when it is done, early or not; stop ends both goroutines and waits
// for them.
func (e *Engine) readAhead(ctx context.Context, after, until eventstore.Cursor, n int) (batches <-chan logBatch, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	read := make(chan logBatch, 1)
	decoded := make(chan logBatch, 1)
	send := func(c chan<- logBatch, b logBatch) bool {
		select {
		case c <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(read)
		for {
			batch, err := e.log.ReadAll(ctx, after, n)
			if err != nil {
				send(read, logBatch{err: err})
				return
			}
			if len(batch) == 0 || !send(read, logBatch{stored: batch}) {
				return
			}
			after = batch[len(batch)-1].Cursor
			if len(batch) < n || (!until.IsZero() && after.Compare(until) >= 0) {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		defer close(decoded)
		for b := range read {
			if b.err == nil {
				b.events, b.decodeErr = e.decode(b.stored)
				b.stored = nil
			}
			if !send(decoded, b) || b.decodeErr != nil {
				return
			}
		}
	}()
	return decoded, func() {
		cancel()
		wg.Wait()
	}
}

// bulkLoad is the state of a rebuild's replay into a shadow schema.
type bulkLoad struct {
	e       *Engine
	db      session // where the batches are applied
	p       Projector
	shadow  string
	cursor  eventstore.Cursor
	done    int64
	onBatch func()
}

// applyUntil replays the log after l.cursor up to (at least) until into the
// shadow schema: batches of Options.RebuildBatchSize events, read ahead,
// each applied in its own transaction whose commit need not be durable (a
// crash before the swap only means the rebuild starts afresh). Its
// statements are planned for their parameters (see inSchema), so the
// growing tables need no fresh statistics along the way.
func (l *bulkLoad) applyUntil(ctx context.Context, until eventstore.Cursor) error {
	if l.cursor.Compare(until) >= 0 {
		return nil
	}
	batches, stop := l.e.readAhead(ctx, l.cursor, until, l.e.opts.RebuildBatchSize)
	defer stop()
	for b := range batches {
		if b.err != nil {
			return b.err
		}
		if len(b.events) > 0 {
			err := pgx.BeginFunc(ctx, l.db, func(tx pgx.Tx) error {
				return inSchema(ctx, tx, l.shadow, true, func() error { return l.p.Apply(ctx, tx, b.events) })
			})
			if err != nil {
				return fmt.Errorf("rebuild %s at %s: %w", l.p.Name(), b.events[0].Cursor, err)
			}
			l.cursor = b.events[len(b.events)-1].Cursor
			l.done += int64(len(b.events))
			if l.onBatch != nil {
				l.onBatch()
			}
		}
		if b.decodeErr != nil {
			return fmt.Errorf("rebuild %s: %w", l.p.Name(), b.decodeErr)
		}
	}
	return ctx.Err()
}

// deferIndexes drops the non-unique indexes of schema's tables that back
// no constraint, and returns their definitions, to be built again by
// finishShadow once the tables are loaded. Unique indexes stay: upserts
// infer their conflict targets from them.
func deferIndexes(ctx context.Context, tx pgx.Tx, schema string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname), pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND NOT i.indisunique AND NOT i.indisexclusion
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname`, schema)
	if err != nil {
		return nil, err
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(names) > 0 {
		if _, err := tx.Exec(ctx, `DROP INDEX `+strings.Join(names, ", ")); err != nil {
			return nil, fmt.Errorf("defer indexes of %s: %w", schema, err)
		}
	}
	return defs, nil
}

// finishShadow builds the deferred indexes defs and refreshes the planner
// statistics of every table of schema, up to workers statements at a time,
// each in its own transaction; the read model then serves with good plans
// from its first query after the swap.
func (e *Engine) finishShadow(ctx context.Context, schema string, defs []string, workers int) error {
	rows, err := e.pool.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm') ORDER BY c.relname`, schema)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	// Indexes first: ANALYZE waits for the index builds on its table.
	stmts := slices.Clone(defs)
	for _, t := range tables {
		stmts = append(stmts, `ANALYZE `+t)
	}
	if len(stmts) == 0 {
		return nil
	}
	workers = max(1, min(workers, len(stmts)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan string)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for stmt := range todo {
				err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off; `+stmt)
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", stmt, err)
					cancel()
					return
				}
			}
		}()
	}
	func() {
		defer close(todo)
		for _, stmt := range stmts {
			select {
			case todo <- stmt:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}
