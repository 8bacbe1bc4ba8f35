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

// EscalateTicket handles EscalateTicket; the escalation goes to the
// assignee's manager when the assignee has one.
func (h *Handler) EscalateTicket(ctx context.Context, c *EscalateTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		evs, err := t.Escalate(c.Reason, u.now)
		if err != nil {
			return nil, err
		}
		return h.routeEscalations(ctx, t, evs)
	})
}

// routeEscalations addresses the escalations among evs to the ticket
// assignee's manager.
func (h *Handler) routeEscalations(ctx context.Context, t *aggregates.Ticket, evs []aggregates.Event) ([]aggregates.Event, error) {
	for i, ev := range evs {
		if e, ok := ev.(aggregates.TicketEscalatedEvent); ok {
			manager, err := h.ManagerOf(ctx, t.Assignee())
			if err != nil {
				return nil, err
			}
			e.EscalatedTo = manager
			evs[i] = e
		}
	}
	return evs, nil
}
