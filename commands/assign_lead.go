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

// AssignLead handles AssignLead.
func (h *Handler) AssignLead(ctx context.Context, c *AssignLead) error {
	return h.leadCommand(ctx, &c.Envelope, c.LeadID, func(_ *unit, l *aggregates.Lead) ([]aggregates.Event, error) {
		return l.Assign(c.OwnerID)
	})
}
