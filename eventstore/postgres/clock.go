package postgres

import (
	"context"
	"fmt"
)

// SuppliedTimesAllowed reports whether the database keeps the recorded
// times a store with Options.Clock supplies (ALTER DATABASE ... SET
// crm.supplied_recorded_at = on, by its owner); otherwise every event is
// stamped with the server's clock (migration 005).
func (s *Store) SuppliedTimesAllowed(ctx context.Context) (bool, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT crm_supplied_times_allowed()`).Scan(&ok); err != nil {
		return false, fmt.Errorf("read whether supplied recorded times are kept: %w", err)
	}
	return ok, nil
}
