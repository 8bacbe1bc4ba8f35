package commands

import (
	"context"

	"crm/aggregates"
)

// ReopenTicket reopens a resolved or closed ticket.
type ReopenTicket struct {
	Envelope
	TicketID, Reason string
}

// ReopenTicket handles ReopenTicket.
func (h *Handler) ReopenTicket(ctx context.Context, c *ReopenTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Reopen(c.Reason, u.now)
	})
}
