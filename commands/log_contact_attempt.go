package commands

import (
	"context"

	"crm/aggregates"
)

// LogContactAttempt records an attempt to reach a lead.
type LogContactAttempt struct {
	Envelope
	LeadID, Channel, Outcome, Note string
}

// LogContactAttempt handles LogContactAttempt.
func (h *Handler) LogContactAttempt(ctx context.Context, c *LogContactAttempt) error {
	return h.leadCommand(ctx, &c.Envelope, c.LeadID, func(u *unit, l *aggregates.Lead) ([]aggregates.Event, error) {
		return l.LogContactAttempt(c.Channel, c.Outcome, c.Note, u.now)
	})
}
