package commands

import (
	"context"
	"fmt"
	"time"

	"crm/aggregates"
)

// RemindTask records that a task reached its due time (the reminder
// automation issues it at the due time); a task done, reminded already
// or not yet due gets nothing.
type RemindTask struct {
	Envelope
	EntityType, EntityID, ActivityID string
}

// taskStream folds an entity's stream into its tasks and decides with
// act; the target must be a lead, account, opportunity or ticket.
func (h *Handler) taskCommand(ctx context.Context, env *Envelope, entityType, entityID string,
	act func(ts *aggregates.Tasks, now time.Time) ([]aggregates.Event, error)) error {
	switch entityType {
	case TypeLead, TypeAccount, TypeOpportunity, TypeTicket:
	default:
		return fmt.Errorf("task: unknown entity type %q", entityType)
	}
	stream := streamOf(entityType, entityID)
	return h.run(ctx, env, entityID, stream, func(u *unit) error {
		ts := aggregates.NewTasks()
		if _, err := u.load(stream, ts); err != nil {
			return err
		}
		evs, err := act(ts, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		return nil
	})
}

// RemindTask handles RemindTask.
func (h *Handler) RemindTask(ctx context.Context, c *RemindTask) error {
	return h.taskCommand(ctx, &c.Envelope, c.EntityType, c.EntityID, func(ts *aggregates.Tasks, now time.Time) ([]aggregates.Event, error) {
		return ts.Remind(c.ActivityID, now)
	})
}
