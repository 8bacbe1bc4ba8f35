package aggregates

import "time"

// Ticket statuses.
const (
	TicketOpen     = "open"
	TicketResolved = "resolved"
	TicketClosed   = "closed"
)

// TicketPriorities and TicketChannels are the allowed values.
var (
	TicketPriorities = []string{"low", "normal", "high", "urgent"}
	TicketChannels   = []string{"email", "phone", "chat", "web"}
)

// SLATarget is the time allowed for the first response and for resolution.
type SLATarget struct {
	FirstResponse time.Duration
	Resolution    time.Duration
}

// SLAPolicy maps a priority to its targets.
type SLAPolicy map[string]SLATarget

// DefaultSLA returns the default targets: urgent 1 h / 4 h, high 4 h / 1 d,
// normal 8 h / 3 d, low 24 h / 7 d.
func DefaultSLA() SLAPolicy {
	return SLAPolicy{
		"urgent": {time.Hour, 4 * time.Hour},
		"high":   {4 * time.Hour, 24 * time.Hour},
		"normal": {8 * time.Hour, 72 * time.Hour},
		"low":    {24 * time.Hour, 168 * time.Hour},
	}
}

// target returns the policy's targets for priority, falling back to the
// defaults for a priority the policy leaves out.
func (p SLAPolicy) target(priority string) SLATarget {
	if t, ok := p[priority]; ok {
		return t
	}
	return DefaultSLA()[priority]
}

// TicketOpenedEvent records a new ticket with its SLA due times.
type TicketOpenedEvent struct {
	TicketID         string    `json:"ticket_id"`
	Subject          string    `json:"subject"`
	Description      string    `json:"description,omitempty"`
	AccountID        string    `json:"account_id,omitempty"`
	ContactID        string    `json:"contact_id,omitempty"`
	Priority         string    `json:"priority"`
	Channel          string    `json:"channel"`
	FirstResponseDue time.Time `json:"first_response_due"`
	ResolutionDue    time.Time `json:"resolution_due"`
	OpenedAt         time.Time `json:"opened_at"`
}

// TicketAssignedEvent records a ticket's new assignee.
type TicketAssignedEvent struct {
	TicketID           string `json:"ticket_id"`
	AssigneeID         string `json:"assignee_id"`
	PreviousAssigneeID string `json:"previous_assignee_id,omitempty"`
}

// TicketRespondedEvent records a response to the customer; First marks the
// first one, which meets or misses the first-response target.
type TicketRespondedEvent struct {
	TicketID    string    `json:"ticket_id"`
	Body        string    `json:"body"`
	First       bool      `json:"first"`
	WithinSLA   bool      `json:"within_sla"`
	RespondedAt time.Time `json:"responded_at"`
}

// TicketPriorityChangedEvent records a new priority and the recomputed due
// times.
type TicketPriorityChangedEvent struct {
	TicketID         string    `json:"ticket_id"`
	From             string    `json:"from"`
	To               string    `json:"to"`
	FirstResponseDue time.Time `json:"first_response_due"`
	ResolutionDue    time.Time `json:"resolution_due"`
}

// TicketEscalatedEvent records an escalation.
type TicketEscalatedEvent struct {
	TicketID    string    `json:"ticket_id"`
	Reason      string    `json:"reason"`
	Level       int       `json:"level"`
	EscalatedAt time.Time `json:"escalated_at"`
	// EscalatedTo is the user the escalation goes to (the assignee's
	// manager), if the assignee has one.
	EscalatedTo string `json:"escalated_to,omitempty"`
}

// TicketResolvedEvent records a resolution.
type TicketResolvedEvent struct {
	TicketID   string    `json:"ticket_id"`
	Resolution string    `json:"resolution"`
	WithinSLA  bool      `json:"within_sla"`
	ResolvedAt time.Time `json:"resolved_at"`
}

// TicketClosedEvent records that a resolved ticket was closed.
type TicketClosedEvent struct {
	TicketID string    `json:"ticket_id"`
	ClosedAt time.Time `json:"closed_at"`
}

// TicketReopenedEvent records that a resolved or closed ticket reopened.
type TicketReopenedEvent struct {
	TicketID   string    `json:"ticket_id"`
	Reason     string    `json:"reason"`
	FromStatus string    `json:"from_status"`
	ReopenedAt time.Time `json:"reopened_at"`
}

// TicketSatisfactionRecordedEvent records the customer's score.
type TicketSatisfactionRecordedEvent struct {
	TicketID   string    `json:"ticket_id"`
	Score      int       `json:"score"`
	Comment    string    `json:"comment,omitempty"`
	RecordedAt time.Time `json:"recorded_at"`
}

// TypeName implements Event.
func (TicketOpenedEvent) TypeName() string { return "ticket.opened" }

// TypeName implements Event.
func (TicketAssignedEvent) TypeName() string { return "ticket.assigned" }

// TypeName implements Event.
func (TicketRespondedEvent) TypeName() string { return "ticket.responded" }

// TypeName implements Event.
func (TicketPriorityChangedEvent) TypeName() string { return "ticket.priority_changed" }

// TypeName implements Event.
func (TicketEscalatedEvent) TypeName() string { return "ticket.escalated" }

// TypeName implements Event.
func (TicketResolvedEvent) TypeName() string { return "ticket.resolved" }

// TypeName implements Event.
func (TicketClosedEvent) TypeName() string { return "ticket.closed" }

// TypeName implements Event.
func (TicketReopenedEvent) TypeName() string { return "ticket.reopened" }

// TypeName implements Event.
func (TicketSatisfactionRecordedEvent) TypeName() string { return "ticket.satisfaction_recorded" }

// SchemaVersion implements Event.
func (TicketOpenedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TicketAssignedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TicketRespondedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TicketPriorityChangedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TicketEscalatedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TicketResolvedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TicketClosedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TicketReopenedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TicketSatisfactionRecordedEvent) SchemaVersion() int { return 1 }

// TicketEvents lists a sample of every ticket event type, for codec
// registration.
func TicketEvents() []Event {
	return []Event{TicketOpenedEvent{}, TicketAssignedEvent{}, TicketRespondedEvent{}, TicketPriorityChangedEvent{},
		TicketEscalatedEvent{}, TicketResolvedEvent{}, TicketClosedEvent{}, TicketReopenedEvent{}, TicketSatisfactionRecordedEvent{}}
}

// OpenTicket is the command that opens a ticket.
type OpenTicket struct {
	Subject, Description, AccountID, ContactID, Priority, Channel string
}

// Ticket is a customer service case.
type Ticket struct {
	id       string
	exists   bool
	opened   TicketOpenedEvent
	status   string
	priority string
	assignee string
	// escalatedTo is the user the latest escalation went to.
	escalatedTo        string
	firstResponseDue   time.Time
	resolutionDue      time.Time
	firstResponseAt    *time.Time
	firstResponseLate  bool
	resolvedAt         *time.Time
	resolvedLate       bool
	closedAt           *time.Time
	escalation         int
	satisfaction       *int
	satisfactionRemark string
	activities         int
	breached           map[string]bool
	surveyRequested    bool
	articles           []string
}

// NewTicket returns an empty ticket with the given id.
func NewTicket(id string) *Ticket { return &Ticket{id: id} }

// ID is the ticket's id.
func (t *Ticket) ID() string { return t.id }

// Exists reports whether the ticket was opened.
func (t *Ticket) Exists() bool { return t.exists }

// Status is the ticket's status (TicketOpen, TicketResolved, TicketClosed).
func (t *Ticket) Status() string { return t.status }

// Apply folds one event into the ticket's state. Unknown events are
// ignored.
func (t *Ticket) Apply(e Event) {
	switch e := e.(type) {
	case TicketOpenedEvent:
		t.exists, t.opened, t.status, t.priority = true, e, TicketOpen, e.Priority
		t.firstResponseDue, t.resolutionDue = e.FirstResponseDue, e.ResolutionDue
	case TicketDetailsChangedEvent:
		t.applyDetails(e)
	case TicketAssignedEvent:
		t.assignee = e.AssigneeID
	case TicketRespondedEvent:
		if e.First {
			at := e.RespondedAt
			t.firstResponseAt, t.firstResponseLate = &at, !e.WithinSLA
		}
	case TicketPriorityChangedEvent:
		t.priority, t.firstResponseDue, t.resolutionDue = e.To, e.FirstResponseDue, e.ResolutionDue
	case TicketEscalatedEvent:
		t.escalation = e.Level
		if e.EscalatedTo != "" {
			t.escalatedTo = e.EscalatedTo
		}
	case TicketResolvedEvent:
		at := e.ResolvedAt
		t.status, t.resolvedAt, t.resolvedLate = TicketResolved, &at, !e.WithinSLA
	case TicketClosedEvent:
		at := e.ClosedAt
		t.status, t.closedAt = TicketClosed, &at
	case TicketReopenedEvent:
		// A late resolution stays a recorded breach after a reopen.
		t.status, t.resolvedAt, t.closedAt, t.satisfaction, t.satisfactionRemark = TicketOpen, nil, nil, nil, ""
		t.surveyRequested = false
	case TicketSatisfactionRecordedEvent:
		s := e.Score
		t.satisfaction, t.satisfactionRemark = &s, e.Comment
	case ActivityLoggedEvent:
		t.activities++
	default:
		t.applyAutomation(e)
	}
}

// Open validates c and returns the event that opens the ticket, with due
// times from policy.
func (t *Ticket) Open(c OpenTicket, policy SLAPolicy, now time.Time) ([]Event, error) {
	if t.exists {
		return nil, refused("ticket_exists", "ticket %s already exists", t.id)
	}
	if err := required("subject", c.Subject); err != nil {
		return nil, err
	}
	if err := optional("description", c.Description, maxLongText); err != nil {
		return nil, err
	}
	if err := optional("account_id", c.AccountID, maxShortText); err != nil {
		return nil, err
	}
	if err := optional("contact_id", c.ContactID, maxShortText); err != nil {
		return nil, err
	}
	if err := oneOf("priority", c.Priority, TicketPriorities...); err != nil {
		return nil, err
	}
	if err := oneOf("channel", c.Channel, TicketChannels...); err != nil {
		return nil, err
	}
	now = utc(now)
	target := policy.target(c.Priority)
	return []Event{TicketOpenedEvent{TicketID: t.id, Subject: c.Subject, Description: c.Description, AccountID: c.AccountID,
		ContactID: c.ContactID, Priority: c.Priority, Channel: c.Channel, FirstResponseDue: now.Add(target.FirstResponse),
		ResolutionDue: now.Add(target.Resolution), OpenedAt: now}}, nil
}

// missing returns the NotFound error for a ticket that was never opened.
func (t *Ticket) missing() error {
	if !t.exists {
		return &Error{Kind: NotFound, Code: "not_found", Message: "ticket " + t.id + " not found"}
	}
	return nil
}

// notClosed refuses commands on a missing or closed ticket.
func (t *Ticket) notClosed() error {
	if err := t.missing(); err != nil {
		return err
	}
	if t.status == TicketClosed {
		return refused("ticket_closed", "ticket %s is closed", t.id)
	}
	return nil
}

// Assign gives the ticket to an agent; the same assignee again changes
// nothing.
func (t *Ticket) Assign(assigneeID string) ([]Event, error) {
	if err := t.notClosed(); err != nil {
		return nil, err
	}
	if err := required("assignee_id", assigneeID); err != nil {
		return nil, err
	}
	if assigneeID == t.assignee {
		return nil, nil
	}
	return []Event{TicketAssignedEvent{TicketID: t.id, AssigneeID: assigneeID, PreviousAssigneeID: t.assignee}}, nil
}

// Respond records a response; the first one is measured against the
// first-response target.
func (t *Ticket) Respond(body string, now time.Time) ([]Event, error) {
	if err := t.notClosed(); err != nil {
		return nil, err
	}
	if err := requiredLong("body", body); err != nil {
		return nil, err
	}
	now = utc(now)
	first := t.firstResponseAt == nil
	return []Event{TicketRespondedEvent{TicketID: t.id, Body: body, First: first,
		WithinSLA: first && !now.After(t.firstResponseDue), RespondedAt: now}}, nil
}

// ChangePriority sets a new priority and recomputes the due times from the
// ticket's opening time.
func (t *Ticket) ChangePriority(priority string, policy SLAPolicy, _ time.Time) ([]Event, error) {
	if err := t.notClosed(); err != nil {
		return nil, err
	}
	if err := oneOf("priority", priority, TicketPriorities...); err != nil {
		return nil, err
	}
	if priority == t.priority {
		return nil, nil
	}
	target := policy.target(priority)
	return []Event{TicketPriorityChangedEvent{TicketID: t.id, From: t.priority, To: priority,
		FirstResponseDue: t.opened.OpenedAt.Add(target.FirstResponse), ResolutionDue: t.opened.OpenedAt.Add(target.Resolution)}}, nil
}

// Escalate raises the ticket's escalation level.
func (t *Ticket) Escalate(reason string, now time.Time) ([]Event, error) {
	if err := t.missing(); err != nil {
		return nil, err
	}
	if t.status != TicketOpen {
		return nil, refused("ticket_not_open", "ticket %s is %s", t.id, t.status)
	}
	if err := required("reason", reason); err != nil {
		return nil, err
	}
	return []Event{TicketEscalatedEvent{TicketID: t.id, Reason: reason, Level: t.escalation + 1, EscalatedAt: utc(now)}}, nil
}

// Resolve records the resolution, measured against the resolution target.
func (t *Ticket) Resolve(resolution string, now time.Time) ([]Event, error) {
	if err := t.notClosed(); err != nil {
		return nil, err
	}
	if t.status == TicketResolved {
		return nil, refused("ticket_already_resolved", "ticket %s is already resolved", t.id)
	}
	if err := requiredLong("resolution", resolution); err != nil {
		return nil, err
	}
	now = utc(now)
	return []Event{TicketResolvedEvent{TicketID: t.id, Resolution: resolution, WithinSLA: !now.After(t.resolutionDue), ResolvedAt: now}}, nil
}

// Close closes a resolved ticket.
func (t *Ticket) Close(now time.Time) ([]Event, error) {
	if err := t.notClosed(); err != nil {
		return nil, err
	}
	if t.status != TicketResolved {
		return nil, refused("ticket_not_resolved", "ticket %s must be resolved before it closes", t.id)
	}
	return []Event{TicketClosedEvent{TicketID: t.id, ClosedAt: utc(now)}}, nil
}

// Reopen reopens a resolved or closed ticket.
func (t *Ticket) Reopen(reason string, now time.Time) ([]Event, error) {
	if err := t.missing(); err != nil {
		return nil, err
	}
	if t.status == TicketOpen {
		return nil, refused("ticket_not_closed", "ticket %s is open", t.id)
	}
	if err := required("reason", reason); err != nil {
		return nil, err
	}
	return []Event{TicketReopenedEvent{TicketID: t.id, Reason: reason, FromStatus: t.status, ReopenedAt: utc(now)}}, nil
}

// RecordSatisfaction records a 1..5 score once per resolution.
func (t *Ticket) RecordSatisfaction(score int, comment string, now time.Time) ([]Event, error) {
	if err := t.missing(); err != nil {
		return nil, err
	}
	if score < 1 || score > 5 {
		return nil, invalid("score", "must be 1 to 5")
	}
	if err := optional("comment", comment, maxLongText); err != nil {
		return nil, err
	}
	if t.status == TicketOpen {
		return nil, refused("ticket_not_resolved", "ticket %s is not resolved", t.id)
	}
	if t.satisfaction != nil {
		return nil, refused("satisfaction_already_recorded", "ticket %s already has a satisfaction score", t.id)
	}
	return []Event{TicketSatisfactionRecordedEvent{TicketID: t.id, Score: score, Comment: comment, RecordedAt: utc(now)}}, nil
}

// LogActivity logs an activity on the ticket.
func (t *Ticket) LogActivity(c LogActivity, now time.Time) ([]Event, error) {
	if err := t.missing(); err != nil {
		return nil, err
	}
	return logActivity("ticket", t.id, c, now)
}

// TicketView is a ticket's current state as the API shows it.
type TicketView struct {
	ID              string `json:"id"`
	Subject         string `json:"subject"`
	Description     string `json:"description"`
	AccountID       string `json:"account_id,omitempty"`
	ContactID       string `json:"contact_id,omitempty"`
	Priority        string `json:"priority"`
	Channel         string `json:"channel"`
	Status          string `json:"status"`
	AssigneeID      string `json:"assignee_id,omitempty"`
	EscalationLevel int    `json:"escalation_level"`
	// EscalatedTo is the user the latest escalation went to, if any.
	EscalatedTo      string     `json:"escalated_to,omitempty"`
	FirstResponseDue time.Time  `json:"first_response_due"`
	ResolutionDue    time.Time  `json:"resolution_due"`
	FirstResponseAt  *time.Time `json:"first_response_at"`
	ResolvedAt       *time.Time `json:"resolved_at"`
	ClosedAt         *time.Time `json:"closed_at"`
	// FirstResponseBreached and ResolutionBreached are recorded facts: the
	// first response came late, a resolution came late. They never depend
	// on the clock; an open ticket past its due time is not breached here.
	FirstResponseBreached bool      `json:"first_response_breached"`
	ResolutionBreached    bool      `json:"resolution_breached"`
	Satisfaction          *int      `json:"satisfaction"`
	SatisfactionComment   string    `json:"satisfaction_comment,omitempty"`
	Activities            int       `json:"activities"`
	OpenedAt              time.Time `json:"opened_at"`
}

// View returns the ticket's current state. Breaches are those recorded: a
// late first response, or a late resolution (which stays breached after a
// reopen).
func (t *Ticket) View() TicketView {
	o := t.opened
	v := TicketView{ID: t.id, Subject: o.Subject, Description: o.Description, AccountID: o.AccountID, ContactID: o.ContactID,
		Priority: t.priority, Channel: o.Channel, Status: t.status, AssigneeID: t.assignee, EscalationLevel: t.escalation, EscalatedTo: t.escalatedTo,
		FirstResponseDue: t.firstResponseDue, ResolutionDue: t.resolutionDue, FirstResponseAt: t.firstResponseAt,
		ResolvedAt: t.resolvedAt, ClosedAt: t.closedAt, FirstResponseBreached: (t.firstResponseAt != nil && t.firstResponseLate) || t.breached[SLAFirstResponse],
		ResolutionBreached: t.resolvedLate || t.breached[SLAResolution], Satisfaction: t.satisfaction,
		SatisfactionComment: t.satisfactionRemark, Activities: t.activities, OpenedAt: o.OpenedAt}
	// Copies, so a caller cannot change the ticket through its view.
	v.FirstResponseAt, v.ResolvedAt, v.ClosedAt = ticketClone(v.FirstResponseAt), ticketClone(v.ResolvedAt), ticketClone(v.ClosedAt)
	v.Satisfaction = ticketClone(v.Satisfaction)
	return v
}

// ticketClone returns a pointer to a copy of *p, or nil.
func ticketClone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}
