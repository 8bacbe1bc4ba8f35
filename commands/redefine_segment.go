package commands

import (
	"context"

	"crm/aggregates"
)

// RedefineSegment gives a segment a new name and filter.
type RedefineSegment struct {
	Envelope
	SegmentID, Name string
	Filter          aggregates.SegmentFilter
}

// RedefineSegment handles RedefineSegment.
func (h *Handler) RedefineSegment(ctx context.Context, c *RedefineSegment) error {
	return existingCommand(ctx, h, &c.Envelope, TypeSegment, c.SegmentID, aggregates.NewSegment,
		func(_ *unit, s *aggregates.Segment) ([]aggregates.Event, error) { return s.Redefine(c.Name, c.Filter) })
}
