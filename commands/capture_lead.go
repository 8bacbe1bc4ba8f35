package commands

import (
	"context"

	"crm/aggregates"
)

// CaptureLead creates a lead and reserves its email.
type CaptureLead struct {
	Envelope
	aggregates.CaptureLead
}

// CaptureLead handles CaptureLead. The email must not belong to another
// open lead or contact (*ClaimTakenError); an owner_id must name an active
// user (Invalid).
func (h *Handler) CaptureLead(ctx context.Context, c *CaptureLead) error {
	if err := h.ActiveUser(ctx, "owner_id", c.OwnerID); err != nil {
		return err
	}
	id := h.newID()
	stream := streamOf(TypeLead, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		l := aggregates.NewLead(id)
		if err := u.loadNew(stream, l); err != nil {
			return err
		}
		evs, err := l.Capture(c.CaptureLead, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		email := evs[0].(aggregates.LeadCapturedEvent).Email
		u.batch.Claims = append(u.batch.Claims, Claim{Kind: ClaimEmail, Key: email, OwnerType: TypeLead, OwnerID: id})
		return nil
	})
}
