package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/esdb"
	"crm/eventstore/postgres"
)

// esdbConnectTimeout bounds the start-up check of an EventStoreDB URL.
const esdbConnectTimeout = 5 * time.Second

// eventStoreValue is --event-store: empty (or "postgres") for the event
// log in the PostgreSQL database, or an esdb:// / esdb+discover:// URL.
type eventStoreValue struct{ value string }

func (v *eventStoreValue) String() string { return esdb.Redact(v.value) }
func (v *eventStoreValue) Set(s string) error {
	if s == "" || s == "postgres" {
		v.value = ""
		return nil
	}
	if _, err := esdb.ParseURL(s); err != nil {
		return fmt.Errorf("want esdb://host:2113?tls=false, or empty for PostgreSQL: %v", err)
	}
	v.value = s
	return nil
}

func (v *eventStoreValue) register(f *flagSet) {
	f.Var(v, "event-store", "event log: empty for the PostgreSQL database, or an EventStoreDB URL such as esdb://host:2113?tls=false")
	f.withEnv("event-store", "CRM_EVENT_STORE")
}

// openEventStore connects to the EventStoreDB at url, failing within
// esdbConnectTimeout with one error naming the URL and the cause.
func openEventStore(ctx context.Context, url string, clock func() time.Time, log *slog.Logger) (*esdb.Store, error) {
	s, err := esdb.Open(ctx, url, esdb.Options{Clock: clock, Logger: log, ConnectTimeout: esdbConnectTimeout})
	if err != nil {
		return nil, fmt.Errorf("event store %s: %w", esdb.Redact(url), err)
	}
	return s, nil
}

// storeURLValue is a URL of either event store: postgres:// (or
// postgresql://) or esdb:// (or esdb+discover://).
type storeURLValue struct{ value string }

func (v *storeURLValue) String() string { return esdb.Redact(v.value) }
func (v *storeURLValue) Set(s string) error {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if _, err := pgxpool.ParseConfig(s); err != nil {
			return errors.New("not a valid PostgreSQL connection string")
		}
	case strings.HasPrefix(s, "esdb://"), strings.HasPrefix(s, "esdb+discover://"):
		if _, err := esdb.ParseURL(s); err != nil {
			return err
		}
	default:
		return errors.New("want a postgres:// or esdb:// URL")
	}
	v.value = s
	return nil
}

// openedStore is an event store opened from a URL, with what closes it.
type openedStore struct {
	eventstore.Store
	close func()
}

// openStoreURL opens the event store at url. With migrate, a PostgreSQL
// event store's schema is created or upgraded first.
func openStoreURL(ctx context.Context, url string, clock func() time.Time, migrate bool, log *slog.Logger) (*openedStore, error) {
	if strings.HasPrefix(url, "esdb") {
		s, err := openEventStore(ctx, url, clock, log)
		if err != nil {
			return nil, err
		}
		return &openedStore{Store: s, close: func() { _ = s.Close() }}, nil
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
	return &openedStore{Store: s, close: func() { _ = s.Close(); pool.Close() }}, nil
}
