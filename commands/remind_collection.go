package commands

import (
	"context"

	"crm/aggregates"
)

// RemindCollection raises a collection step for an overdue installment:
// a reminder to the deal's owner, or an escalation to the owner's manager
// (the collections automation issues it).
type RemindCollection struct {
	Envelope
	OrderID     string
	Installment int
	// MinDaysOverdue is how overdue the installment must be.
	MinDaysOverdue int
	// Escalate raises the escalation to ManagerID instead of the
	// reminder.
	Escalate  bool
	ManagerID string
}

// RemindCollection handles RemindCollection; an installment paid, not
// overdue enough, already at that step, or on a cancelled order appends
// nothing.
func (h *Handler) RemindCollection(ctx context.Context, c *RemindCollection) error {
	return existingCommand(ctx, h, &c.Envelope, TypeOrder, c.OrderID, aggregates.NewOrder,
		func(u *unit, o *aggregates.Order) ([]aggregates.Event, error) {
			if c.Escalate {
				return o.EscalateCollection(c.Installment, c.MinDaysOverdue, c.ManagerID, u.now)
			}
			return o.RemindCollection(c.Installment, c.MinDaysOverdue, u.now)
		})
}
