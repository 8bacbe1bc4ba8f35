package eventstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Metadata says who caused an event and why. Every stored event carries it.
type Metadata struct {
	// Actor is the principal that caused the event: an API key's principal or
	// "automation:<name>". Required.
	Actor string `json:"actor"`
	// CommandID identifies the command whose decision produced the event.
	CommandID string `json:"command_id,omitempty"`
	// CorrelationID ties together everything one request or workflow caused.
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the id of the message (command or event) that caused
	// this event.
	CausationID string `json:"causation_id,omitempty"`
}

// EventData is an event to append. The store assigns the stream version, the
// global cursor and the recorded time.
type EventData struct {
	// ID is the event's unique id. A zero ID is replaced by a new UUIDv7.
	// Appending an ID that is already stored in the same stream is
	// idempotent: the event is stored once.
	ID uuid.UUID
	// Type is the versioned type name, such as "lead.captured.v1".
	Type string
	// SchemaVersion is the version of Data's schema (1 or more). It matches
	// the ".vN" suffix of Type when Type carries one.
	SchemaVersion int
	// Data is the event body: a JSON object.
	Data json.RawMessage
	// Metadata says who, and through which command and correlation.
	Metadata Metadata
}

// Event is a stored event as read back from the store.
type Event struct {
	ID            uuid.UUID
	StreamID      string
	Version       int64
	Cursor        Cursor
	Type          string
	SchemaVersion int
	Data          json.RawMessage
	Metadata      Metadata
	RecordedAt    time.Time
}

// ExpectedVersion is the version a stream must be at for an append to
// succeed. Values of zero or more demand that exact version (zero: the stream
// has no events); the negative constants select the other modes.
type ExpectedVersion int64

const (
	// NoStream demands that the stream has no events yet.
	NoStream ExpectedVersion = 0
	// Any accepts the stream at whatever version it is. Use it only where
	// order within the stream does not depend on a decision (never for
	// aggregate writes decided on loaded state).
	Any ExpectedVersion = -1
	// StreamExists demands that the stream has at least one event.
	StreamExists ExpectedVersion = -2
)

// Exact demands that the stream is at version v (v events appended so far).
func Exact(v int64) ExpectedVersion { return ExpectedVersion(v) }

// String describes the expectation.
func (e ExpectedVersion) String() string {
	switch {
	case e == Any:
		return "any"
	case e == StreamExists:
		return "stream exists"
	case e == NoStream:
		return "no stream"
	case e > 0:
		return strconv.FormatInt(int64(e), 10)
	default:
		return fmt.Sprintf("invalid(%d)", int64(e))
	}
}

// Valid reports whether e is one of the modes above or an exact version.
func (e ExpectedVersion) Valid() bool { return e >= StreamExists }

// StreamEvents is one stream's part of an append: the events and the version
// the stream must be at before them.
type StreamEvents struct {
	StreamID string
	Expected ExpectedVersion
	Events   []EventData
}

// AppendResult describes a successful append.
type AppendResult struct {
	// Events are the stored events in the order they were given, with their
	// versions, cursors and recorded time filled in.
	Events []Event
	// Position is the cursor of the last event appended: a reader that has
	// reached it has seen the whole append.
	Position Cursor
}

// Version returns the stream's version after the append, or 0 when the
// stream was not part of it.
func (r AppendResult) Version(streamID string) int64 {
	var v int64
	for _, e := range r.Events {
		if e.StreamID == streamID && e.Version > v {
			v = e.Version
		}
	}
	return v
}

// ReadOptions narrows a stream read.
type ReadOptions struct {
	// FromVersion is the first version to return (versions start at 1);
	// zero means from the start.
	FromVersion int64
	// Until, when not zero, returns only the stream's prefix recorded at or
	// before that time: the stream as it stood then.
	Until time.Time
	// Limit caps the number of events returned; zero means no cap.
	Limit int
}

// SubscribeOptions configures a subscription to the global log.
type SubscribeOptions struct {
	// After is the cursor to continue from; the zero Cursor starts at the
	// beginning of the log.
	After Cursor
	// BatchSize caps how many events one handler call receives; zero means
	// the backend's default.
	BatchSize int
}
