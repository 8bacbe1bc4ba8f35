package app

import (
	"context"
	"fmt"

	"crm/api"
	"crm/eventstore"
	"crm/internal/integrity"
)

// noVerifier answers verification requests for an event store without a
// hash chain.
type noVerifier struct{}

func (noVerifier) Verify(context.Context) (integrity.Report, error) {
	return integrity.Report{}, api.ErrVerifyUnsupported
}

// storeReadiness is ready when the database is and the event store (one
// outside PostgreSQL) answers.
type storeReadiness struct {
	db    api.Readiness
	store interface {
		Head(ctx context.Context) (eventstore.Cursor, error)
	}
}

func (r storeReadiness) Ready(ctx context.Context) error {
	if err := r.db.Ready(ctx); err != nil {
		return err
	}
	if _, err := r.store.Head(ctx); err != nil {
		return fmt.Errorf("event store unreachable: %w", err)
	}
	return nil
}
