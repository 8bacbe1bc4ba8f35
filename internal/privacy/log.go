package privacy

import (
	"context"

	"crm/eventstore"
)

// Source is the ordered log as projectors and the event feed read it.
type Source interface {
	ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error)
	Head(ctx context.Context) (eventstore.Cursor, error)
	Subscribe(ctx context.Context, opts eventstore.SubscribeOptions, handle func(context.Context, []eventstore.Event) error) error
}

// Counter counts a log's events cheaply (the PostgreSQL store does).
type Counter interface {
	Count(ctx context.Context) (int64, error)
}

// Log is a Source whose events come out revealed: personal values in
// plaintext while their subject's key exists, Erased after, never
// ciphertext.
type Log struct {
	src   Source
	count Counter
	vault *Vault
}

// Log wraps src so that its events come out revealed. count, when not
// nil, counts src's events (the PostgreSQL store); without it Count
// reports 0, unknown.
func (v *Vault) Log(src Source, count Counter) *Log {
	return &Log{src: src, count: count, vault: v}
}

// Count returns the number of events in the log, or 0 when the log
// cannot count them.
func (l *Log) Count(ctx context.Context) (int64, error) {
	if l.count == nil {
		return 0, nil
	}
	return l.count.Count(ctx)
}

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
