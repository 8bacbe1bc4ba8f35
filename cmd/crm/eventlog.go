package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore/esdb"
)

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
