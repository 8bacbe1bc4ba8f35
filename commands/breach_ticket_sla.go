package commands

import (
	"context"

	"crm/aggregates"
)

// BreachTicketSLA records that a ticket missed an SLA target and escalates
// it (the SLA automation issues it when a due time passes).
type BreachTicketSLA struct {
	Envelope
	TicketID string
	// Target is aggregates.SLAFirstResponse or aggregates.SLAResolution.
	Target string
}

// BreachTicketSLA handles BreachTicketSLA. A target already breached, met,
// or not yet due appends nothing.
func (h *Handler) BreachTicketSLA(ctx context.Context, c *BreachTicketSLA) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		evs, err := t.BreachSLA(c.Target, u.now)
		if err != nil {
			return nil, err
		}
		return h.routeEscalations(ctx, t, evs)
	})
}
