package postgres

import (
	"context"
	"fmt"
	"time"
)

// Writer is a session holding a write transaction open on the server.
type Writer struct {
	PID         int
	Database    string
	Application string
	State       string
	Since       *time.Time
}

// Waiting tells whether committed events are not yet readable because an
// older transaction is still running somewhere on the PostgreSQL server
// (readers stop at the oldest running writer so that they never skip an
// event; see the package documentation).
type Waiting struct {
	// Events is how many committed events lie beyond the readable head.
	Events int64
	// OldestWriter is the session with the oldest running write
	// transaction, when Events is not zero.
	OldestWriter *Writer
}

// Waiting reports the committed events readers cannot see yet and, if any,
// the session holding them back.
func (s *Store) Waiting(ctx context.Context) (Waiting, error) {
	var w Waiting
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM crm_events
		WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`).Scan(&w.Events); err != nil {
		return w, fmt.Errorf("events behind the horizon: %w", err)
	}
	if w.Events == 0 {
		return w, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT pid, coalesce(datname, ''), coalesce(application_name, ''), coalesce(state, ''), xact_start
		FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
		ORDER BY age(backend_xid) DESC LIMIT 1`)
	if err != nil {
		return w, fmt.Errorf("oldest writer: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var wr Writer
		if err := rows.Scan(&wr.PID, &wr.Database, &wr.Application, &wr.State, &wr.Since); err != nil {
			return w, fmt.Errorf("oldest writer: %w", err)
		}
		w.OldestWriter = &wr
	}
	return w, rows.Err()
}
