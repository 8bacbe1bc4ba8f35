package commands

import (
	"context"

	"crm/aggregates"
)

// CancelOrder cancels an order.
type CancelOrder struct {
	Envelope
	OrderID, Reason string
}

// CancelOrder handles CancelOrder.
func (h *Handler) CancelOrder(ctx context.Context, c *CancelOrder) error {
	return existingCommand(ctx, h, &c.Envelope, TypeOrder, c.OrderID, aggregates.NewOrder,
		func(u *unit, o *aggregates.Order) ([]aggregates.Event, error) { return o.Cancel(c.Reason, u.now) })
}
