package projections

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/eventstore"
)

// asOfBatch is how many events a replay reads at a time.
const asOfBatch = 5000

// AsOf answers a question about projector name's read model as it stood at
// until: in one transaction it replays every event recorded at or before
// until (up to the log's head when AsOf began) into a scratch schema with
// the projector's own Setup and Apply, calls read with the transaction and
// that schema, and rolls everything back. The live read model is not
// touched; the answer is computed from the log alone.
func (e *Engine) AsOf(ctx context.Context, name string, until time.Time, read func(ctx context.Context, tx pgx.Tx, schema string) error) error {
	p, ok := e.Projector(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownProjector, name)
	}
	head, err := e.log.Head(ctx)
	if err != nil {
		return err
	}
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	schema := SchemaName(p.Name()) + "_asof_" + hex.EncodeToString(suffix[:])
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if err := createSchema(ctx, tx, p, schema); err != nil {
		return err
	}
	after := eventstore.Cursor{}
	for !head.IsZero() {
		batch, err := e.log.ReadAll(ctx, after, asOfBatch)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		after = batch[len(batch)-1].Cursor
		keep := batch[:0:0]
		for _, ev := range batch {
			if !ev.Cursor.After(head) && !ev.RecordedAt.After(until) {
				keep = append(keep, ev)
			}
		}
		events, err := e.decode(keep)
		if err != nil {
			return err
		}
		if len(events) > 0 {
			if err := inSchema(ctx, tx, schema, false, func() error { return p.Apply(ctx, tx, events) }); err != nil {
				return fmt.Errorf("replay %s as of %s: %w", p.Name(), until.Format(time.RFC3339), err)
			}
		}
		if after.Compare(head) >= 0 {
			break
		}
	}
	return read(ctx, tx, schema)
}
