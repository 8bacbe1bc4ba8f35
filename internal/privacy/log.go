package privacy

import (
	"context"

	"crm/eventstore"
	"crm/eventstore/postgres"
)

// Source is the ordered log as projectors and the event feed read it.
type Source interface {
	ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error)
	Head(ctx context.Context) (eventstore.Cursor, error)
	Subscribe(ctx context.Context, opts eventstore.SubscribeOptions, handle func(context.Context, []eventstore.Event) error) error
}

// Log is a Source whose events come out revealed: personal values in
// plaintext while their subject's key exists, Erased after, never
// ciphertext.
type Log struct {
	src   Source
	vault *Vault
}

// Log wraps src so that its events come out revealed. When src is the
// PostgreSQL store, the result also counts its events and names the
// sessions holding back its horizon, as the store does.
func (v *Vault) Log(src Source) Source {
	l := &Log{src: src, vault: v}
	if pg, ok := src.(pgSource); ok {
		return &pgLog{Log: l, pg: pg}
	}
	return l
}

// pgSource is what the PostgreSQL store tells besides its events.
type pgSource interface {
	Count(ctx context.Context) (int64, error)
	Waiting(ctx context.Context) (postgres.Waiting, error)
}

// pgLog is a Log over the PostgreSQL store.
type pgLog struct {
	*Log
	pg pgSource
}

// Count returns the number of events in the log.
func (l *pgLog) Count(ctx context.Context) (int64, error) { return l.pg.Count(ctx) }

// Waiting names the committed events waiting behind the read horizon.
func (l *pgLog) Waiting(ctx context.Context) (postgres.Waiting, error) { return l.pg.Waiting(ctx) }

// ReadAll implements Source.
func (l *Log) ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error) {
	evs, err := l.src.ReadAll(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	if _, err := l.vault.Reveal(ctx, evs); err != nil {
		return nil, err
	}
	return evs, nil
}

// Head implements Source.
func (l *Log) Head(ctx context.Context) (eventstore.Cursor, error) { return l.src.Head(ctx) }

// Subscribe implements Source.
func (l *Log) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions, handle func(context.Context, []eventstore.Event) error) error {
	return l.src.Subscribe(ctx, opts, func(ctx context.Context, evs []eventstore.Event) error {
		if _, err := l.vault.Reveal(ctx, evs); err != nil {
			return err
		}
		return handle(ctx, evs)
	})
}
