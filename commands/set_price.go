package commands

import (
	"context"

	"crm/aggregates"
)

// SetPrice sets a product's list price in one currency in a price book.
type SetPrice struct {
	Envelope
	PriceBookID, ProductID, Price, Currency string
}

// SetPrice handles SetPrice. An unknown product is an Invalid error
// naming product_id.
func (h *Handler) SetPrice(ctx context.Context, c *SetPrice) error {
	return existingCommand(ctx, h, &c.Envelope, TypePriceBook, c.PriceBookID, aggregates.NewPriceBook,
		func(u *unit, b *aggregates.PriceBook) ([]aggregates.Event, error) {
			if !b.Exists() {
				return b.SetPrice(c.ProductID, c.Price, c.Currency, u.now)
			}
			if err := h.loadInto(u.ctx, "product_id", TypeProduct, c.ProductID, aggregates.NewProduct(c.ProductID)); err != nil {
				return nil, err
			}
			return b.SetPrice(c.ProductID, c.Price, c.Currency, u.now)
		})
}
