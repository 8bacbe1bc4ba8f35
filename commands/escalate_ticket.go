package commands

import (
	"context"

	"crm/aggregates"
)

// EscalateTicket escalates a ticket.
type EscalateTicket struct {
	Envelope
	TicketID, Reason string
}

// EscalateTicket handles EscalateTicket.
func (h *Handler) EscalateTicket(ctx context.Context, c *EscalateTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Escalate(c.Reason, u.now)
	})
}
