package commands

import (
	"context"

	"crm/aggregates"
)

// QualifyLead marks a lead as qualified.
type QualifyLead struct {
	Envelope
	LeadID, Note string
}

// QualifyLead handles QualifyLead.
func (h *Handler) QualifyLead(ctx context.Context, c *QualifyLead) error {
	return h.leadCommand(ctx, &c.Envelope, c.LeadID, func(_ *unit, l *aggregates.Lead) ([]aggregates.Event, error) {
		return l.Qualify(c.Note)
	})
}
