package commands

import (
	"context"

	"crm/aggregates"
)

// RecordSatisfaction records the customer's satisfaction score.
type RecordSatisfaction struct {
	Envelope
	TicketID string
	Score    int
	Comment  string
}

// RecordSatisfaction handles RecordSatisfaction.
func (h *Handler) RecordSatisfaction(ctx context.Context, c *RecordSatisfaction) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.RecordSatisfaction(c.Score, c.Comment, u.now)
	})
}
