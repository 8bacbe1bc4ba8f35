package aggregates

import "time"

// TaskReminderEvent records that an open task reached its due time: the
// reminder its owner gets. It is appended to the stream of the entity the
// task was logged on.
type TaskReminderEvent struct {
	ActivityID string    `json:"activity_id"`
	EntityType string    `json:"entity_type"`
	EntityID   string    `json:"entity_id"`
	OwnerID    string    `json:"owner_id,omitempty"`
	Subject    string    `json:"subject"`
	DueAt      time.Time `json:"due_at"`
	RemindedAt time.Time `json:"reminded_at"`
}

// TaskCompletedEvent records that a task was done.
type TaskCompletedEvent struct {
	ActivityID  string    `json:"activity_id"`
	EntityType  string    `json:"entity_type"`
	EntityID    string    `json:"entity_id"`
	CompletedAt time.Time `json:"completed_at"`
}

// TypeName implements Event.
func (TaskReminderEvent) TypeName() string { return "task.reminder_due" }

// TypeName implements Event.
func (TaskCompletedEvent) TypeName() string { return "task.completed" }

// SchemaVersion implements Event.
func (TaskReminderEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (TaskCompletedEvent) SchemaVersion() int { return 1 }

// TaskEvents lists a sample of every task event type.
func TaskEvents() []Event { return []Event{TaskReminderEvent{}, TaskCompletedEvent{}} }

// task is one task's state.
type task struct {
	logged   ActivityLoggedEvent
	done     bool
	reminded bool
}

// Tasks are the tasks logged on one entity's stream, folded from it
// alongside the entity itself.
type Tasks struct {
	tasks map[string]*task
}

// NewTasks returns an empty set of tasks to fold a stream into.
func NewTasks() *Tasks { return &Tasks{tasks: map[string]*task{}} }

// Apply folds one event of the stream.
func (ts *Tasks) Apply(e Event) {
	switch e := e.(type) {
	case ActivityLoggedEvent:
		if e.Kind == "task" {
			ts.tasks[e.ActivityID] = &task{logged: e, done: e.Done}
		}
	case TaskReminderEvent:
		if t := ts.tasks[e.ActivityID]; t != nil {
			t.reminded = true
		}
	case TaskCompletedEvent:
		if t := ts.tasks[e.ActivityID]; t != nil {
			t.done = true
		}
	}
}

func (ts *Tasks) find(id string) (*task, error) {
	t := ts.tasks[id]
	if t == nil {
		return nil, &Error{Kind: NotFound, Code: "not_found", Message: "task " + id + " not found"}
	}
	return t, nil
}

// Remind returns the reminder of a task that is open, has a due time at
// or before now and was not reminded yet; otherwise nothing (a reminder
// fires once, and never for a done task).
func (ts *Tasks) Remind(activityID string, now time.Time) ([]Event, error) {
	t, err := ts.find(activityID)
	if err != nil {
		return nil, err
	}
	l := t.logged
	if t.done || t.reminded || l.DueAt == nil || l.DueAt.After(now) {
		return nil, nil
	}
	return []Event{TaskReminderEvent{ActivityID: l.ActivityID, EntityType: l.EntityType, EntityID: l.EntityID,
		OwnerID: l.OwnerID, Subject: l.Subject, DueAt: *l.DueAt, RemindedAt: utc(now)}}, nil
}

// Complete marks a task done; completing it again changes nothing.
func (ts *Tasks) Complete(activityID string, now time.Time) ([]Event, error) {
	t, err := ts.find(activityID)
	if err != nil {
		return nil, err
	}
	if t.done {
		return nil, nil
	}
	return []Event{TaskCompletedEvent{ActivityID: activityID, EntityType: t.logged.EntityType, EntityID: t.logged.EntityID,
		CompletedAt: utc(now)}}, nil
}
