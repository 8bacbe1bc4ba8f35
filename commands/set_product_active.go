package commands

import (
	"context"

	"crm/aggregates"
)

// SetProductActive activates or deactivates a product.
type SetProductActive struct {
	Envelope
	ProductID string
	Active    bool
}

// SetProductActive handles SetProductActive.
func (h *Handler) SetProductActive(ctx context.Context, c *SetProductActive) error {
	return existingCommand(ctx, h, &c.Envelope, TypeProduct, c.ProductID, aggregates.NewProduct,
		func(_ *unit, p *aggregates.Product) ([]aggregates.Event, error) { return p.SetActive(c.Active) })
}
