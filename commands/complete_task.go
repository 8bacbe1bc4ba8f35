package commands

import (
	"context"
	"time"

	"crm/aggregates"
)

// CompleteTask marks a task done.
type CompleteTask struct {
	Envelope
	EntityType, EntityID, ActivityID string
}

// CompleteTask handles CompleteTask; an unknown task is a NotFound error.
func (h *Handler) CompleteTask(ctx context.Context, c *CompleteTask) error {
	return h.taskCommand(ctx, &c.Envelope, c.EntityType, c.EntityID, func(ts *aggregates.Tasks, now time.Time) ([]aggregates.Event, error) {
		return ts.Complete(c.ActivityID, now)
	})
}
