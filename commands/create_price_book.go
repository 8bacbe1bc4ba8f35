package commands

import (
	"context"

	"crm/aggregates"
)

// CreatePriceBook creates a price book.
type CreatePriceBook struct {
	Envelope
	Name string
}

// CreatePriceBook handles CreatePriceBook.
func (h *Handler) CreatePriceBook(ctx context.Context, c *CreatePriceBook) error {
	id := h.newID()
	stream := streamOf(TypePriceBook, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		b := aggregates.NewPriceBook(id)
		if err := u.loadNew(stream, b); err != nil {
			return err
		}
		evs, err := b.Create(c.Name, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}
