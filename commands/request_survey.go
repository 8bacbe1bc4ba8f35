package commands

import (
	"context"

	"crm/aggregates"
)

// RequestSurvey asks a closed ticket's customer for a satisfaction score.
type RequestSurvey struct {
	Envelope
	TicketID string
}

// RequestSurvey handles RequestSurvey; a ticket not closed, or already
// asked since it closed, appends nothing.
func (h *Handler) RequestSurvey(ctx context.Context, c *RequestSurvey) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.RequestSurvey(u.now)
	})
}
