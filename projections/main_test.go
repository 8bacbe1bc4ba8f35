package projections

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/aggregates"
	"crm/eventstore"
	"crm/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// newTestPool opens a pool on a fresh database.
func newTestPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// eventSeq builds test events with increasing cursors.
type eventSeq struct {
	t     testing.TB
	codec *eventstore.Registry
	next  uint64
}

func newEventSeq(t testing.TB) *eventSeq {
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return &eventSeq{t: t, codec: codec}
}

// ev returns the next event of the log: e on stream at version, recorded
// at, by actor.
func (s *eventSeq) ev(stream string, version int64, at time.Time, actor string, e aggregates.Event) Event {
	s.t.Helper()
	enc, err := s.codec.Encode(e)
	if err != nil {
		s.t.Fatal(err)
	}
	s.next++
	return Event{Event: eventstore.Event{ID: uuid.Must(uuid.NewV7()), StreamID: stream, Version: version,
		Cursor: eventstore.Cursor{Major: 1, Minor: s.next}, Type: enc.Type, SchemaVersion: enc.SchemaVersion, Data: enc.Data,
		Metadata:   eventstore.Metadata{Actor: actor, CommandID: "cmd-" + stream, CorrelationID: "corr-" + stream, CausationID: "cause-" + stream},
		RecordedAt: at.UTC()}, Domain: e}
}

// project creates p's live schema (if missing) and applies events in one
// transaction, as the engine does.
func project(t testing.TB, pool *pgxpool.Pool, p Projector, events ...Event) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		schema := pgx.Identifier{SchemaName(p.Name())}.Sanitize()
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, SchemaName(p.Name())).Scan(&exists); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema+`; SET LOCAL search_path = `+schema); err != nil {
			return err
		}
		if !exists {
			if err := p.Setup(ctx, tx); err != nil {
				return err
			}
		}
		return p.Apply(ctx, tx, events)
	})
	if err != nil {
		t.Fatal(err)
	}
}
