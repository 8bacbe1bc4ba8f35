package commands

import (
	"context"

	"crm/aggregates"
)

// ArchiveSegment retires a segment.
type ArchiveSegment struct {
	Envelope
	SegmentID string
}

// ArchiveSegment handles ArchiveSegment.
func (h *Handler) ArchiveSegment(ctx context.Context, c *ArchiveSegment) error {
	return existingCommand(ctx, h, &c.Envelope, TypeSegment, c.SegmentID, aggregates.NewSegment,
		func(_ *unit, s *aggregates.Segment) ([]aggregates.Event, error) { return s.Archive() })
}
