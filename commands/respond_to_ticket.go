package commands

import (
	"context"

	"crm/aggregates"
)

// RespondToTicket records a response to the customer.
type RespondToTicket struct {
	Envelope
	TicketID, Body string
}

// RespondToTicket handles RespondToTicket.
func (h *Handler) RespondToTicket(ctx context.Context, c *RespondToTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Respond(c.Body, u.now)
	})
}
