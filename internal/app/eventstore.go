package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/esdb"
	"crm/eventstore/postgres"
)

// ESDBConnectTimeout bounds the start-up check of an EventStoreDB URL.
const ESDBConnectTimeout = 5 * time.Second

// OpenEventStoreDB connects to the EventStoreDB at url, failing within
// ESDBConnectTimeout with one error naming the URL and the cause. clock
// stamps recorded times (nil: time.Now).
func OpenEventStoreDB(ctx context.Context, url string, clock func() time.Time, log *slog.Logger) (*esdb.Store, error) {
	s, err := esdb.Open(ctx, url, esdb.Options{Clock: clock, Logger: log, ConnectTimeout: ESDBConnectTimeout})
	if err != nil {
		return nil, fmt.Errorf("event store %s: %w", esdb.Redact(url), err)
	}
	return s, nil
}

// Store is an event store opened from a URL on its own, with what closes
// it.
type Store struct {
	eventstore.Store
	// Counter counts the store's events; nil when the store cannot.
	Counter interface {
		Count(ctx context.Context) (int64, error)
	}
	close func()
}

// Close releases the store and its connections. It never fails.
func (s *Store) Close() error {
	s.close()
	return nil
}

// OpenStore opens the event store at url: esdb:// (or esdb+discover://)
// for EventStoreDB, else a PostgreSQL connection string. With migrate, a
// PostgreSQL event store's schema is created or upgraded first. clock
// stamps recorded times (nil: time.Now).
func OpenStore(ctx context.Context, url string, clock func() time.Time, migrate bool, log *slog.Logger) (*Store, error) {
	if strings.HasPrefix(url, "esdb") {
		s, err := OpenEventStoreDB(ctx, url, clock, log)
		if err != nil {
			return nil, err
		}
		return &Store{Store: s, close: func() { _ = s.Close() }}, nil
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("event store %s: %w", esdb.Redact(url), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("event store %s: %w", esdb.Redact(url), err)
	}
	if migrate {
		if err := postgres.Migrate(ctx, pool); err != nil {
			pool.Close()
			return nil, fmt.Errorf("event store %s: %w", esdb.Redact(url), err)
		}
	}
	s := postgres.New(pool, postgres.Options{Clock: clock, Logger: log})
	return &Store{Store: s, Counter: s, close: func() { _ = s.Close(); pool.Close() }}, nil
}
