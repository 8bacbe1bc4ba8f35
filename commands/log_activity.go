package commands

import (
	"context"
	"fmt"
	"time"

	"crm/aggregates"
)

// LogActivity logs a call, meeting, email, note or task on a lead,
// account, opportunity or ticket.
type LogActivity struct {
	Envelope
	EntityType, EntityID string
	aggregates.LogActivity
}

// activityTarget is an aggregate that takes activities.
type activityTarget interface {
	applier
	LogActivity(c aggregates.LogActivity, now time.Time) ([]aggregates.Event, error)
}

// LogActivity handles LogActivity; Result.Extra["activity_id"] is the new
// activity's id.
func (h *Handler) LogActivity(ctx context.Context, c *LogActivity) error {
	var agg func() activityTarget
	switch c.EntityType {
	case TypeLead:
		agg = func() activityTarget { return aggregates.NewLead(c.EntityID) }
	case TypeAccount:
		agg = func() activityTarget { return aggregates.NewAccount(c.EntityID) }
	case TypeOpportunity:
		agg = func() activityTarget { return aggregates.NewOpportunity(c.EntityID) }
	case TypeTicket:
		agg = func() activityTarget { return aggregates.NewTicket(c.EntityID) }
	default:
		return fmt.Errorf("log activity: unknown entity type %q", c.EntityType)
	}
	c.ActivityID = h.newID()
	stream := streamOf(c.EntityType, c.EntityID)
	return h.run(ctx, &c.Envelope, c.EntityID, stream, func(u *unit) error {
		a := agg()
		if _, err := u.load(stream, a); err != nil {
			return err
		}
		evs, err := a.LogActivity(c.LogActivity, u.now)
		if err != nil {
			return err
		}
		if l, ok := a.(*aggregates.Lead); ok {
			u.subjects[stream] = l.Person().Email
		}
		u.emit(stream, evs)
		u.extra["activity_id"] = c.ActivityID
		return nil
	})
}
