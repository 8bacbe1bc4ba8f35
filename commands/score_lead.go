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
// nothing. The score goes to the lead's score stream (TypeLeadScore), not
// to the lead's own: the lead's version, which clients send back in
// If-Match, moves only when a person or a command on the lead changes it.
// A lead that does not exist is a NotFound error.
func (h *Handler) ScoreLead(ctx context.Context, c *ScoreLead) error {
	stream := streamOf(TypeLeadScore, c.LeadID)
	return h.run(ctx, &c.Envelope, c.LeadID, stream, func(u *unit) error {
		l := aggregates.NewLead(c.LeadID)
		if _, err := u.load(streamOf(TypeLead, c.LeadID), l); err != nil {
			return err
		}
		if _, err := u.load(stream, l); err != nil {
			return err
		}
		evs, err := l.RecordScore(c.Score, c.Reasons)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		return nil
	})
}
