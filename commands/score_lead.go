package commands

import (
	"context"

	"crm/aggregates"
)

// ScoreLead records a lead's score.
type ScoreLead struct {
	Envelope
	LeadID  string
	Score   int
	Reasons []string
}

// ScoreLead handles ScoreLead; the lead's current score again appends
// nothing.
func (h *Handler) ScoreLead(ctx context.Context, c *ScoreLead) error {
	return h.leadCommand(ctx, &c.Envelope, c.LeadID, func(_ *unit, l *aggregates.Lead) ([]aggregates.Event, error) {
		return l.RecordScore(c.Score, c.Reasons)
	})
}
