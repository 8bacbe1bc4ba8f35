package commands

import (
	"context"

	"crm/aggregates"
)

// AssignLead gives a lead to an owner.
type AssignLead struct {
	Envelope
	LeadID, OwnerID string
}

// AssignLead handles AssignLead; the owner must be an active user
// (Invalid otherwise).
func (h *Handler) AssignLead(ctx context.Context, c *AssignLead) error {
	if err := h.ActiveUser(ctx, "owner_id", c.OwnerID); err != nil {
		return err
	}
	return h.leadCommand(ctx, &c.Envelope, c.LeadID, func(_ *unit, l *aggregates.Lead) ([]aggregates.Event, error) {
		return l.Assign(c.OwnerID)
	})
}
