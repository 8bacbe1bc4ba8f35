package eventstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// Store is the event-store contract. Every backend implements it and passes
// the suite in eventstoretest.
type Store interface {
	// Append stores the events of one or more streams atomically: either
	// every stream is at its expected version and all events are stored, or
	// nothing is. A stream not at its expected version fails the whole append
	// with a *VersionConflictError. Events of one call appear contiguously in
	// each stream, and in the global log in the order given.
	Append(ctx context.Context, streams ...StreamEvents) (AppendResult, error)
	// ReadStream returns a stream's events in version order, narrowed by
	// opts. It returns ErrStreamNotFound when the stream has no events.
	ReadStream(ctx context.Context, streamID string, opts ReadOptions) ([]Event, error)
	// ReadAll returns up to limit committed events of the global log that
	// lie after the cursor, in log order. Every reader sees every committed
	// event exactly once and in the same order, however appends interleave,
	// roll back or stay open: an append that has not committed yet holds
	// back later events rather than being skipped.
	ReadAll(ctx context.Context, after Cursor, limit int) ([]Event, error)
	// Head returns the cursor of the last event ReadAll would return now
	// (the zero Cursor for an empty log).
	Head(ctx context.Context) (Cursor, error)
	// Subscribe delivers the global log after opts.After to handle in
	// batches, first catching up and then following live, until ctx ends
	// (it then returns ctx's error) or handle returns an error (returned
	// wrapped). Batches are delivered one at a time, in log order.
	Subscribe(ctx context.Context, opts SubscribeOptions, handle func(context.Context, []Event) error) error
	// Close stops the store's background work. It is idempotent.
	Close() error
}

// CheckAppend validates an append and fills in what the caller may leave
// out (zero event ids become UUIDv7s). It returns an error wrapping
// ErrInvalidAppend naming what is wrong. Backends call it before storing.
func CheckAppend(streams []StreamEvents) error {
	if len(streams) == 0 {
		return fmt.Errorf("%w: no streams", ErrInvalidAppend)
	}
	seen := make(map[string]bool, len(streams))
	for si := range streams {
		s := &streams[si]
		if s.StreamID == "" {
			return fmt.Errorf("%w: stream %d has an empty id", ErrInvalidAppend, si)
		}
		if seen[s.StreamID] {
			return fmt.Errorf("%w: stream %s appears twice", ErrInvalidAppend, s.StreamID)
		}
		seen[s.StreamID] = true
		if !s.Expected.Valid() {
			return fmt.Errorf("%w: stream %s: expected version %d", ErrInvalidAppend, s.StreamID, int64(s.Expected))
		}
		if len(s.Events) == 0 {
			return fmt.Errorf("%w: stream %s has no events", ErrInvalidAppend, s.StreamID)
		}
		for ei := range s.Events {
			e := &s.Events[ei]
			if e.ID == uuid.Nil {
				id, err := uuid.NewV7()
				if err != nil {
					return fmt.Errorf("new event id: %w", err)
				}
				e.ID = id
			}
			switch {
			case e.Type == "":
				return fmt.Errorf("%w: stream %s event %d: empty type", ErrInvalidAppend, s.StreamID, ei)
			case e.SchemaVersion < 1:
				return fmt.Errorf("%w: stream %s event %s: schema version %d", ErrInvalidAppend, s.StreamID, e.Type, e.SchemaVersion)
			case e.Metadata.Actor == "":
				return fmt.Errorf("%w: stream %s event %s: metadata has no actor", ErrInvalidAppend, s.StreamID, e.Type)
			case !isJSONObject(e.Data):
				return fmt.Errorf("%w: stream %s event %s: data is not a JSON object", ErrInvalidAppend, s.StreamID, e.Type)
			}
		}
	}
	return nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) >= 2 && b[0] == '{' && json.Valid(b)
}
