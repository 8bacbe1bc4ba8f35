package aggregates

import "time"

// ActivityKinds are the kinds of activity that can be logged.
var ActivityKinds = []string{"call", "meeting", "email", "note", "task"}

// ActivityLoggedEvent records a call, meeting, email, note or task on a
// lead, account, opportunity or ticket.
type ActivityLoggedEvent struct {
	ActivityID string     `json:"activity_id"`
	EntityType string     `json:"entity_type"`
	EntityID   string     `json:"entity_id"`
	Kind       string     `json:"kind"`
	Subject    string     `json:"subject"`
	Body       string     `json:"body,omitempty"`
	DueAt      *time.Time `json:"due_at,omitempty"`
	Done       bool       `json:"done"`
	OwnerID    string     `json:"owner_id,omitempty"`
	LoggedAt   time.Time  `json:"logged_at"`
}

// TypeName implements Event.
func (ActivityLoggedEvent) TypeName() string { return "activity.logged" }

// SchemaVersion implements Event.
func (ActivityLoggedEvent) SchemaVersion() int { return 1 }

// LogActivity is the command that logs an activity.
type LogActivity struct {
	ActivityID, Kind, Subject, Body, OwnerID string
	DueAt                                    *time.Time
	Done                                     bool
}

// logActivity validates c for the entity of the given type and id.
func logActivity(entityType, entityID string, c LogActivity, now time.Time) ([]Event, error) {
	if err := oneOf("kind", c.Kind, ActivityKinds...); err != nil {
		return nil, err
	}
	if err := required("subject", c.Subject); err != nil {
		return nil, err
	}
	if err := optional("body", c.Body, maxLongText); err != nil {
		return nil, err
	}
	if err := optional("owner_id", c.OwnerID, maxShortText); err != nil {
		return nil, err
	}
	var due *time.Time
	if c.DueAt != nil {
		d := utc(*c.DueAt)
		due = &d
	}
	return []Event{ActivityLoggedEvent{ActivityID: c.ActivityID, EntityType: entityType, EntityID: entityID,
		Kind: c.Kind, Subject: c.Subject, Body: c.Body, DueAt: due, Done: c.Done, OwnerID: c.OwnerID, LoggedAt: utc(now)}}, nil
}

// LogActivity logs an activity on the lead; converted and disqualified
// leads take activities too (notes after the fact are common).
func (l *Lead) LogActivity(c LogActivity, now time.Time) ([]Event, error) {
	if !l.exists {
		return nil, &Error{Kind: NotFound, Code: "not_found", Message: "lead " + l.id + " not found"}
	}
	return logActivity("lead", l.id, c, now)
}
