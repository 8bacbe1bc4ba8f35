package commands

import (
	"context"
	"time"

	"crm/aggregates"
)

// TypeSegment is the entity type of segments.
const TypeSegment = "segment"

// DefineSegment saves a dynamic filter over leads, accounts or contacts.
type DefineSegment struct {
	Envelope
	Name, Entity string
	Filter       aggregates.SegmentFilter
}

// DefineSegment handles DefineSegment.
func (h *Handler) DefineSegment(ctx context.Context, c *DefineSegment) error {
	id := h.newID()
	stream := streamOf(TypeSegment, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		s := aggregates.NewSegment(id)
		if err := u.loadNew(stream, s); err != nil {
			return err
		}
		evs, err := s.Define(c.Name, c.Entity, c.Filter, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}

// Segment returns a segment's current state (as of asOf when it is not
// zero) and its version.
func (h *Handler) Segment(ctx context.Context, id string, asOf time.Time) (aggregates.SegmentView, int64, error) {
	s := aggregates.NewSegment(id)
	v, err := h.fold(ctx, TypeSegment, id, asOf, s)
	return s.View(), v, err
}
