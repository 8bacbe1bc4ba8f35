package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"crm/eventstore"
)

type readyDB struct{ err error }

func (r readyDB) Ready(context.Context) error { return r.err }

type headStore struct{ err error }

func (s headStore) Head(context.Context) (eventstore.Cursor, error) {
	return eventstore.Cursor{}, s.err
}

// TestReadinessChecksTheEventStore: with an event store outside
// PostgreSQL, /readyz fails when that store does not answer.
func TestReadinessChecksTheEventStore(t *testing.T) {
	ctx := context.Background()
	if err := (storeReadiness{db: readyDB{}, store: headStore{}}).Ready(ctx); err != nil {
		t.Errorf("both up: %v", err)
	}
	err := (storeReadiness{db: readyDB{}, store: headStore{err: errors.New("connection refused")}}).Ready(ctx)
	if err == nil || !strings.Contains(err.Error(), "event store unreachable") {
		t.Errorf("store down: %v", err)
	}
	dbDown := errors.New("database down")
	if err := (storeReadiness{db: readyDB{err: dbDown}, store: headStore{}}).Ready(ctx); !errors.Is(err, dbDown) {
		t.Errorf("database down: %v", err)
	}
}
