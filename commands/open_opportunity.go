package commands

import (
	"context"

	"crm/aggregates"
)

// OpenOpportunity opens an opportunity on an existing account.
type OpenOpportunity struct {
	Envelope
	aggregates.OpenOpportunity
}

// OpenOpportunity handles OpenOpportunity. An unknown account is an
// Invalid error naming account_id, an owner_id that names no active user
// one naming owner_id.
func (h *Handler) OpenOpportunity(ctx context.Context, c *OpenOpportunity) error {
	if err := h.ActiveUser(ctx, "owner_id", c.OwnerID); err != nil {
		return err
	}
	id := h.newID()
	stream := streamOf(TypeOpportunity, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		if err := h.mustExist(ctx, "account_id", TypeAccount, c.AccountID); err != nil {
			return err
		}
		o := aggregates.NewOpportunity(id)
		if err := u.loadNew(stream, o); err != nil {
			return err
		}
		evs, err := o.Open(c.OpenOpportunity, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}
