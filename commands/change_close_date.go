package commands

import (
	"context"

	"crm/aggregates"
)

// ChangeCloseDate changes an opportunity's expected close date.
type ChangeCloseDate struct {
	Envelope
	OpportunityID, ExpectedCloseDate string
}

// ChangeCloseDate handles ChangeCloseDate.
func (h *Handler) ChangeCloseDate(ctx context.Context, c *ChangeCloseDate) error {
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(_ *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		return o.ChangeCloseDate(c.ExpectedCloseDate)
	})
}
