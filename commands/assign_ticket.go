package commands

import (
	"context"

	"crm/aggregates"
)

// AssignTicket gives a ticket to an agent.
type AssignTicket struct {
	Envelope
	TicketID, AssigneeID string
}

// AssignTicket handles AssignTicket.
func (h *Handler) AssignTicket(ctx context.Context, c *AssignTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(_ *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Assign(c.AssigneeID)
	})
}
