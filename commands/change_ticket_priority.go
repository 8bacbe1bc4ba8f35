package commands

import (
	"context"

	"crm/aggregates"
)

// ChangeTicketPriority changes a ticket's priority and SLA targets.
type ChangeTicketPriority struct {
	Envelope
	TicketID, Priority string
}

// ChangeTicketPriority handles ChangeTicketPriority.
func (h *Handler) ChangeTicketPriority(ctx context.Context, c *ChangeTicketPriority) error {
	policy, err := h.policy(ctx)
	if err != nil {
		return err
	}
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.ChangePriority(c.Priority, policy, u.now)
	})
}
