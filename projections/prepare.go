package projections

import (
	"context"
	"fmt"
)

// Prepare creates every projector's live schema and checkpoint row that
// does not exist yet, so read-model queries find their tables from the
// first request on (empty until the projectors catch up). It is safe to
// run from several processes at once and on every start.
func (e *Engine) Prepare(ctx context.Context) error {
	for _, p := range e.projectors {
		if _, err := e.ensure(ctx, p); err != nil {
			return fmt.Errorf("prepare projector %s: %w", p.Name(), err)
		}
	}
	return nil
}
