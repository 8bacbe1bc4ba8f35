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

// AssignTicket handles AssignTicket; the assignee must be an active user
// (Invalid otherwise).
func (h *Handler) AssignTicket(ctx context.Context, c *AssignTicket) error {
	if err := h.ActiveUser(ctx, "assignee_id", c.AssigneeID); err != nil {
		return err
	}
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(_ *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Assign(c.AssigneeID)
	})
}
