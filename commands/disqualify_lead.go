package commands

import (
	"context"

	"crm/aggregates"
)

// DisqualifyLead closes a lead with a reason and frees its email.
type DisqualifyLead struct {
	Envelope
	LeadID, Reason string
}

// DisqualifyLead handles DisqualifyLead.
func (h *Handler) DisqualifyLead(ctx context.Context, c *DisqualifyLead) error {
	return h.leadCommand(ctx, &c.Envelope, c.LeadID, func(u *unit, l *aggregates.Lead) ([]aggregates.Event, error) {
		evs, err := l.Disqualify(c.Reason)
		if err == nil {
			u.batch.Releases = append(u.batch.Releases, Claim{Kind: ClaimEmail, Key: l.Person().Email, OwnerType: TypeLead, OwnerID: l.ID()})
		}
		return evs, err
	})
}
