package commands

import (
	"context"

	"crm/aggregates"
)

// RemindOverdue reminds an open opportunity's owner that it is past its
// expected close date.
type RemindOverdue struct {
	Envelope
	OpportunityID string
}

// RemindOverdue handles RemindOverdue; an opportunity closed, not yet
// overdue, or already reminded for its close date appends nothing.
func (h *Handler) RemindOverdue(ctx context.Context, c *RemindOverdue) error {
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		return o.RemindOverdue(u.now)
	})
}
