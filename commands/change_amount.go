package commands

import (
	"context"

	"crm/aggregates"
)

// ChangeAmount changes an opportunity's amount and currency.
type ChangeAmount struct {
	Envelope
	OpportunityID, Amount, Currency string
}

// ChangeAmount handles ChangeAmount.
func (h *Handler) ChangeAmount(ctx context.Context, c *ChangeAmount) error {
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(_ *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		return o.ChangeAmount(c.Amount, c.Currency)
	})
}
