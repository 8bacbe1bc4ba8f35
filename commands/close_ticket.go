package commands

import (
	"context"

	"crm/aggregates"
)

// CloseTicket closes a resolved ticket.
type CloseTicket struct {
	Envelope
	TicketID string
}

// CloseTicket handles CloseTicket.
func (h *Handler) CloseTicket(ctx context.Context, c *CloseTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Close(u.now)
	})
}
