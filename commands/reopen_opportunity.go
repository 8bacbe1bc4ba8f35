package commands

import (
	"context"

	"crm/aggregates"
)

// ReopenOpportunity reopens a closed opportunity.
type ReopenOpportunity struct {
	Envelope
	OpportunityID, Reason string
}

// ReopenOpportunity handles ReopenOpportunity.
func (h *Handler) ReopenOpportunity(ctx context.Context, c *ReopenOpportunity) error {
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		return o.Reopen(c.Reason, u.now)
	})
}
