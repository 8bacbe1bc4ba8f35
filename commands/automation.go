package commands

import (
	"context"

	"crm/aggregates"
)

// BreachTicketSLA records that a ticket missed an SLA target and escalates
// it (the SLA automation issues it when a due time passes).
type BreachTicketSLA struct {
	Envelope
	TicketID string
	// Target is aggregates.SLAFirstResponse or aggregates.SLAResolution.
	Target string
}

// BreachTicketSLA handles BreachTicketSLA. A target already breached, met,
// or not yet due appends nothing.
func (h *Handler) BreachTicketSLA(ctx context.Context, c *BreachTicketSLA) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.BreachSLA(c.Target, u.now)
	})
}

// RequestSurvey asks a closed ticket's customer for a satisfaction score.
type RequestSurvey struct {
	Envelope
	TicketID string
}

// RequestSurvey handles RequestSurvey; a ticket not closed, or already
// asked since it closed, appends nothing.
func (h *Handler) RequestSurvey(ctx context.Context, c *RequestSurvey) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.RequestSurvey(u.now)
	})
}

// RemindOverdue reminds an open opportunity's owner that it is past its
// expected close date.
type RemindOverdue struct {
	Envelope
	OpportunityID string
}

// RemindOverdue handles RemindOverdue; an opportunity closed, not yet
// overdue, or already reminded for its close date appends nothing.
func (h *Handler) RemindOverdue(ctx context.Context, c *RemindOverdue) error {
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		return o.RemindOverdue(u.now)
	})
}

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
