package commands

import (
	"context"

	"crm/aggregates"
)

// CreateProduct adds a product to the catalog.
type CreateProduct struct {
	Envelope
	aggregates.CreateProduct
}

// CreateProduct handles CreateProduct.
func (h *Handler) CreateProduct(ctx context.Context, c *CreateProduct) error {
	id := h.newID()
	stream := streamOf(TypeProduct, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		p := aggregates.NewProduct(id)
		if err := u.loadNew(stream, p); err != nil {
			return err
		}
		evs, err := p.Create(c.CreateProduct, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}
