package commands

import (
	"context"

	"crm/aggregates"
)

// OpenAccount creates an account.
type OpenAccount struct {
	Envelope
	aggregates.OpenAccount
}

// OpenAccount handles OpenAccount; an owner_id must name an active user
// (Invalid otherwise).
func (h *Handler) OpenAccount(ctx context.Context, c *OpenAccount) error {
	if err := h.ActiveUser(ctx, "owner_id", c.OwnerID); err != nil {
		return err
	}
	id := h.newID()
	stream := streamOf(TypeAccount, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		a := aggregates.NewAccount(id)
		if err := u.loadNew(stream, a); err != nil {
			return err
		}
		evs, err := a.Open(c.OpenAccount, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}
