package commands

import (
	"context"

	"crm/aggregates"
)

// ResolveTicket resolves a ticket.
type ResolveTicket struct {
	Envelope
	TicketID, Resolution string
}

// ResolveTicket handles ResolveTicket.
func (h *Handler) ResolveTicket(ctx context.Context, c *ResolveTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Resolve(c.Resolution, u.now)
	})
}
