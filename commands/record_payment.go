package commands

import (
	"context"

	"crm/aggregates"
)

// RecordPayment records a payment received on an order.
type RecordPayment struct {
	Envelope
	OrderID, Amount, Currency, PaidOn, Reference string
}

// RecordPayment handles RecordPayment; Result.Extra["payment_id"] is the
// payment's id. Overpayments and payments on a cancelled order are
// refused (overpayment, order_paid, order_cancelled).
func (h *Handler) RecordPayment(ctx context.Context, c *RecordPayment) error {
	paymentID := h.newID()
	return existingCommand(ctx, h, &c.Envelope, TypeOrder, c.OrderID, aggregates.NewOrder,
		func(u *unit, o *aggregates.Order) ([]aggregates.Event, error) {
			evs, err := o.RecordPayment(paymentID, c.Amount, c.Currency, c.PaidOn, c.Reference, u.now)
			if len(evs) > 0 {
				u.extra["payment_id"] = paymentID
				u.created = true
			}
			return evs, err
		})
}
