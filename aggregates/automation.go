package aggregates

import (
	"math/big"
	"time"
)

// SLA targets a ticket can breach.
const (
	SLAFirstResponse = "first_response"
	SLAResolution    = "resolution"
)

// TicketSLABreachedEvent records that a ticket passed one of its SLA due
// times without a first response (or without a resolution).
type TicketSLABreachedEvent struct {
	TicketID   string    `json:"ticket_id"`
	Target     string    `json:"target"`
	Priority   string    `json:"priority"`
	DueAt      time.Time `json:"due_at"`
	BreachedAt time.Time `json:"breached_at"`
}

// TicketSurveyRequestedEvent records that the customer was asked for a
// satisfaction score after the ticket closed.
type TicketSurveyRequestedEvent struct {
	TicketID    string    `json:"ticket_id"`
	RequestedAt time.Time `json:"requested_at"`
}

// OpportunityOverdueEvent records a reminder that an open opportunity is
// past its expected close date.
type OpportunityOverdueEvent struct {
	OpportunityID     string    `json:"opportunity_id"`
	ExpectedCloseDate string    `json:"expected_close_date"`
	OwnerID           string    `json:"owner_id,omitempty"`
	RemindedAt        time.Time `json:"reminded_at"`
}

// LeadScoredEvent records a lead's new score and what made it up.
type LeadScoredEvent struct {
	LeadID   string   `json:"lead_id"`
	Score    int      `json:"score"`
	Previous int      `json:"previous"`
	Reasons  []string `json:"reasons"`
}

// TypeName implements Event.
func (TicketSLABreachedEvent) TypeName() string { return "ticket.sla_breached" }

// TypeName implements Event.
func (TicketSurveyRequestedEvent) TypeName() string { return "ticket.survey_requested" }

// TypeName implements Event.
func (OpportunityOverdueEvent) TypeName() string { return "opportunity.overdue_reminded" }

// TypeName implements Event.
func (LeadScoredEvent) TypeName() string { return "lead.scored" }

// SchemaVersion implements Event.
func (TicketSLABreachedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TicketSurveyRequestedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OpportunityOverdueEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (LeadScoredEvent) SchemaVersion() int { return 1 }

// AutomationEvents lists a sample of every event type that automations
// cause besides the ordinary commands' events.
func AutomationEvents() []Event {
	return []Event{TicketSLABreachedEvent{}, TicketSurveyRequestedEvent{}, OpportunityOverdueEvent{}, LeadScoredEvent{}}
}

// BreachSLA records a breach of target (SLAFirstResponse or SLAResolution)
// when the ticket is open, the target is unmet and its due time lies before
// now, together with an escalation one level up. A target breaches at most
// once per ticket: asking again, or before the due time, or after the
// target was met, returns no events.
func (t *Ticket) BreachSLA(target string, now time.Time) ([]Event, error) {
	if err := t.missing(); err != nil {
		return nil, err
	}
	if err := oneOf("target", target, SLAFirstResponse, SLAResolution); err != nil {
		return nil, err
	}
	now = utc(now)
	if t.status != TicketOpen || t.breached[target] {
		return nil, nil
	}
	due := t.resolutionDue
	if target == SLAFirstResponse {
		if t.firstResponseAt != nil {
			return nil, nil
		}
		due = t.firstResponseDue
	}
	if !now.After(due) {
		return nil, nil
	}
	what := "first response"
	if target == SLAResolution {
		what = "resolution"
	}
	return []Event{
		TicketSLABreachedEvent{TicketID: t.id, Target: target, Priority: t.priority, DueAt: due, BreachedAt: now},
		TicketEscalatedEvent{TicketID: t.id, Reason: "SLA " + what + " target missed (due " + due.Format(time.RFC3339) + ")",
			Level: t.escalation + 1, EscalatedAt: now},
	}, nil
}

// Priority is the ticket's current priority.
func (t *Ticket) Priority() string { return t.priority }

// AccountID is the account the ticket was opened for ("" if none).
func (t *Ticket) AccountID() string { return t.opened.AccountID }

// RequestSurvey asks the customer of a closed ticket for a satisfaction
// score, once per closing: a ticket that is not closed, already scored or
// already asked since it closed returns no events.
func (t *Ticket) RequestSurvey(now time.Time) ([]Event, error) {
	if err := t.missing(); err != nil {
		return nil, err
	}
	if t.status != TicketClosed || t.surveyRequested || t.satisfaction != nil {
		return nil, nil
	}
	return []Event{TicketSurveyRequestedEvent{TicketID: t.id, RequestedAt: utc(now)}}, nil
}

// applyAutomation folds the automation events of a ticket.
func (t *Ticket) applyAutomation(e Event) {
	switch e := e.(type) {
	case TicketSLABreachedEvent:
		if t.breached == nil {
			t.breached = map[string]bool{}
		}
		t.breached[e.Target] = true
	case TicketSurveyRequestedEvent:
		t.surveyRequested = true
	case TicketArticleLinkedEvent:
		t.articles = append(t.articles, e.ArticleID)
	}
}

// OverdueAfter is how long past its expected close date an open
// opportunity gets an overdue reminder.
const OverdueAfter = 7 * 24 * time.Hour

// OverdueAt is when the opportunity becomes overdue: OverdueAfter past the
// start (UTC) of its expected close date. It is zero for a malformed date.
func OverdueAt(expectedCloseDate string) time.Time {
	d, err := time.Parse(time.DateOnly, expectedCloseDate)
	if err != nil {
		return time.Time{}
	}
	return d.Add(OverdueAfter)
}

// RemindOverdue returns a reminder when the opportunity is open and now is
// OverdueAfter or more past its expected close date, once per expected
// close date (a new date can be reminded again).
func (o *Opportunity) RemindOverdue(now time.Time) ([]Event, error) {
	if !o.exists {
		return nil, o.notFound()
	}
	at := OverdueAt(o.closeDate)
	if o.IsClosed() || at.IsZero() || now.Before(at) || o.remindedFor == o.closeDate {
		return nil, nil
	}
	return []Event{OpportunityOverdueEvent{OpportunityID: o.id, ExpectedCloseDate: o.closeDate, OwnerID: o.opened.OwnerID,
		RemindedAt: utc(now)}}, nil
}

// Amount and Currency are the opportunity's current amount (a decimal
// string) and currency.
func (o *Opportunity) Amount() (amount, currency string) { return o.amount, o.currency }

// AccountID is the opportunity's account.
func (o *Opportunity) AccountID() string { return o.opened.AccountID }

// Name is the opportunity's name.
func (o *Opportunity) Name() string { return o.name }

// RecordScore sets the lead's score; the same score again changes nothing.
func (l *Lead) RecordScore(score int, reasons []string) ([]Event, error) {
	if !l.exists {
		return nil, &Error{Kind: NotFound, Code: "not_found", Message: "lead " + l.id + " not found"}
	}
	if score == l.score && l.scored {
		return nil, nil
	}
	if reasons == nil {
		reasons = []string{}
	}
	return []Event{LeadScoredEvent{LeadID: l.id, Score: score, Previous: l.score, Reasons: reasons}}, nil
}

// Score is the lead's latest score (0 before the first).
func (l *Lead) Score() int { return l.score }

// Attempts returns the outcomes of the lead's contact attempts, oldest
// first.
func (l *Lead) Attempts() []string {
	out := make([]string, len(l.outcomes))
	copy(out, l.outcomes)
	return out
}

// RequireApproval refuses winning the opportunity (Refused
// approval_pending) while a policy demands an approval that no manager has
// granted: the opportunity entered negotiation, its amount in currency is
// above threshold (a decimal string), and none of its approvals is
// approved. It returns nil otherwise, and for a malformed threshold.
func (o *Opportunity) RequireApproval(threshold, currency string) error {
	if o.currency != currency {
		return nil
	}
	limit, ok1 := new(big.Rat).SetString(threshold)
	amount, ok2 := new(big.Rat).SetString(o.amount)
	if !ok1 || !ok2 || amount.Cmp(limit) <= 0 {
		return nil
	}
	negotiated := false
	for _, h := range o.history {
		negotiated = negotiated || h.Stage == StageNegotiation
	}
	if !negotiated {
		return nil
	}
	for _, a := range o.approvals {
		if a.Status == ApprovalApproved {
			return nil
		}
	}
	return refused("approval_pending", "opportunity %s is above the approval threshold (%s %s) and needs a manager's approval before it can be won", o.id, threshold, currency)
}
