package eventstore

import (
	"errors"
	"fmt"
)

var (
	// ErrVersionConflict is matched (errors.Is) by every *VersionConflictError.
	ErrVersionConflict = errors.New("version conflict")
	// ErrStreamNotFound is returned when reading a stream that has no events.
	ErrStreamNotFound = errors.New("stream not found")
	// ErrDuplicateEvent is returned when an append reuses event ids that are
	// stored elsewhere (another stream, or only some of the append's ids).
	// Re-appending exactly the stored events to their stream is not an
	// error: it is idempotent.
	ErrDuplicateEvent = errors.New("event id already stored")
	// ErrInvalidAppend is returned for a malformed append (no streams, empty
	// stream id, missing type, actor or data, a stream named twice ...).
	ErrInvalidAppend = errors.New("invalid append")
	// ErrInvalidCursor is returned when a cursor string cannot be decoded.
	ErrInvalidCursor = errors.New("invalid cursor")
	// ErrClosed is returned by a store used after Close.
	ErrClosed = errors.New("event store closed")
)

// VersionConflictError reports that a stream was not at the expected
// version. Actual is the stream's version when the conflict was detected
// (0 when the stream has no events).
type VersionConflictError struct {
	StreamID string
	Expected ExpectedVersion
	Actual   int64
}

// Error describes the conflict.
func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("version conflict on stream %s: expected %s, actual %d", e.StreamID, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrVersionConflict) true.
func (e *VersionConflictError) Is(target error) bool { return target == ErrVersionConflict }
