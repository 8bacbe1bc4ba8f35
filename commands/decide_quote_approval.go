package commands

import (
	"context"

	"crm/aggregates"
)

// DecideQuoteApproval approves or rejects a quote's pending discount
// approval.
type DecideQuoteApproval struct {
	Envelope
	QuoteID, ApprovalID string
	// Approve grants the approval; otherwise it is rejected with Reason.
	Approve      bool
	Note, Reason string
}

// DecideQuoteApproval handles DecideQuoteApproval.
func (h *Handler) DecideQuoteApproval(ctx context.Context, c *DecideQuoteApproval) error {
	return existingCommand(ctx, h, &c.Envelope, TypeQuote, c.QuoteID, aggregates.NewQuote,
		func(u *unit, q *aggregates.Quote) ([]aggregates.Event, error) {
			if c.Approve {
				return q.Approve(c.ApprovalID, c.Note, u.now)
			}
			return q.Reject(c.ApprovalID, c.Reason, u.now)
		})
}
