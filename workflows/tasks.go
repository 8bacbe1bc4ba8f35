package workflows

import (
	"context"
	"encoding/json"

	"crm/aggregates"
	"crm/commands"
	"crm/workflows/scheduler"
)

// AutoTaskReminder reminds a task's owner when the task falls due.
const AutoTaskReminder = "task_reminder"

// taskPayload is what a task's deadline carries.
type taskPayload struct {
	cause
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
	ActivityID string `json:"activity_id"`
}

// taskSchedule sets a deadline at the due time of a task logged open.
func (a *Automations) taskSchedule(ctx context.Context, ev Event) error {
	e, ok := ev.Domain.(aggregates.ActivityLoggedEvent)
	if !ok || e.Kind != "task" || e.DueAt == nil || e.Done {
		return nil
	}
	raw, err := json.Marshal(taskPayload{cause: causeOf(ev), EntityType: e.EntityType, EntityID: e.EntityID, ActivityID: e.ActivityID})
	if err != nil {
		return err
	}
	return a.deadlines.Schedule(ctx, scheduler.Deadline{ID: AutoTaskReminder + ":" + e.ActivityID, Kind: AutoTaskReminder, DueAt: *e.DueAt, Payload: raw})
}

// taskFire records the reminder; the command does nothing for a task done
// or reminded meanwhile.
func (a *Automations) taskFire(ctx context.Context, d scheduler.Deadline) error {
	var p taskPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return err
	}
	return a.bus.Send(ctx, &commands.RemindTask{Envelope: envelope(AutoTaskReminder, p.cause, d.ID),
		EntityType: p.EntityType, EntityID: p.EntityID, ActivityID: p.ActivityID})
}
