package commands

import (
	"context"

	"crm/aggregates"
)

// ReviseQuote makes a new version of a quote.
type ReviseQuote struct {
	Envelope
	QuoteID string
	QuoteInput
}

// ReviseQuote handles ReviseQuote; as DraftQuote, a discount above the
// threshold requests an approval (Result.Extra["approval_id"]).
func (h *Handler) ReviseQuote(ctx context.Context, c *ReviseQuote) error {
	approvalID := h.newID()
	return existingCommand(ctx, h, &c.Envelope, TypeQuote, c.QuoteID, aggregates.NewQuote,
		func(u *unit, q *aggregates.Quote) ([]aggregates.Event, error) {
			if !q.Exists() {
				return q.Revise(aggregates.QuoteDraft{}, "", "", u.now)
			}
			draft, err := h.priceLines(u.ctx, c.QuoteInput)
			if err != nil {
				return nil, err
			}
			evs, err := q.Revise(draft, h.discountThreshold(), approvalID, u.now)
			if len(evs) > 1 {
				u.extra["approval_id"] = approvalID
			}
			return evs, err
		})
}
