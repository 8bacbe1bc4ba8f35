package commands

import (
	"context"

	"crm/aggregates"
)

// SendQuote sends a quote's current version to the customer.
type SendQuote struct {
	Envelope
	QuoteID string
}

// SendQuote handles SendQuote; a version whose discount awaits approval is
// refused with quote_approval_pending naming the approval.
func (h *Handler) SendQuote(ctx context.Context, c *SendQuote) error {
	return existingCommand(ctx, h, &c.Envelope, TypeQuote, c.QuoteID, aggregates.NewQuote,
		func(u *unit, q *aggregates.Quote) ([]aggregates.Event, error) { return q.Send(u.now) })
}
