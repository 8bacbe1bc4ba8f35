package esdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"crm/eventstore"
)

// txPrefix starts the name of every transaction stream of the multi-stream
// protocol. Contract streams may not use it.
const txPrefix = "crmtx-"

// metadata is the JSON stored as an event's user metadata.
type metadata struct {
	Actor         string    `json:"actor"`
	CommandID     string    `json:"command_id,omitempty"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	CausationID   string    `json:"causation_id,omitempty"`
	SchemaVersion int       `json:"schema_version"`
	RecordedAt    time.Time `json:"recorded_at"`
}

// ExpectedRevision maps a contract expectation to the EventStoreDB one:
// version v (v events stored) is revision v-1.
func ExpectedRevision(e eventstore.ExpectedVersion) (esdb.ExpectedRevision, error) {
	switch {
	case e == eventstore.NoStream:
		return esdb.NoStream{}, nil
	case e == eventstore.StreamExists:
		return esdb.StreamExists{}, nil
	case e == eventstore.Any:
		return esdb.Any{}, nil
	case e > 0:
		return esdb.Revision(uint64(e) - 1), nil
	}
	return nil, fmt.Errorf("%w: expected version %d", eventstore.ErrInvalidAppend, int64(e))
}

// Version maps a stream revision (0-based) to the contract version (1-based).
func Version(revision uint64) int64 { return int64(revision) + 1 }

// CursorOf maps an $all position to a contract cursor.
func CursorOf(p esdb.Position) eventstore.Cursor {
	return eventstore.Cursor{Major: p.Commit, Minor: p.Prepare}
}

// PositionOf maps a contract cursor to an $all position; the zero cursor is
// the start of $all.
func PositionOf(c eventstore.Cursor) esdb.AllPosition {
	if c.IsZero() {
		return esdb.Start{}
	}
	return esdb.Position{Commit: c.Major, Prepare: c.Minor}
}

// StreamName maps a contract stream id to the EventStoreDB stream name.
func StreamName(namespace, streamID string) string { return namespace + streamID }

// checkStreamID refuses ids that would land in system or protocol streams.
func checkStreamID(id string) error {
	if strings.HasPrefix(id, "$") || strings.HasPrefix(id, txPrefix) {
		return fmt.Errorf("%w: stream id %q is reserved", eventstore.ErrInvalidAppend, id)
	}
	return nil
}

// encodeEvent maps an event to append to EventStoreDB event data.
func encodeEvent(e eventstore.EventData, recordedAt time.Time) (esdb.EventData, error) {
	meta, err := json.Marshal(metadata{Actor: e.Metadata.Actor, CommandID: e.Metadata.CommandID,
		CorrelationID: e.Metadata.CorrelationID, CausationID: e.Metadata.CausationID,
		SchemaVersion: e.SchemaVersion, RecordedAt: recordedAt.UTC()})
	if err != nil {
		return esdb.EventData{}, fmt.Errorf("encode metadata of %s: %w", e.Type, err)
	}
	return esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeJson, Data: e.Data, Metadata: meta}, nil
}

// decodeEvent maps a recorded event of a stream of namespace to a contract
// event. ok is false for a missing event.
func decodeEvent(namespace string, r *esdb.RecordedEvent) (ev eventstore.Event, ok bool, err error) {
	if r == nil {
		return eventstore.Event{}, false, nil
	}
	var m metadata
	if len(r.UserMetadata) > 0 {
		if err := json.Unmarshal(r.UserMetadata, &m); err != nil {
			return eventstore.Event{}, false, fmt.Errorf("decode metadata of event %s in %s: %w", r.EventID, r.StreamID, err)
		}
	}
	if m.SchemaVersion == 0 {
		m.SchemaVersion = 1
	}
	recorded := m.RecordedAt
	if recorded.IsZero() {
		recorded = r.CreatedDate
	}
	return eventstore.Event{
		ID:            r.EventID,
		StreamID:      strings.TrimPrefix(r.StreamID, namespace),
		Version:       Version(r.EventNumber),
		Cursor:        CursorOf(r.Position),
		Type:          r.EventType,
		SchemaVersion: m.SchemaVersion,
		Data:          json.RawMessage(r.Data),
		Metadata: eventstore.Metadata{Actor: m.Actor, CommandID: m.CommandID,
			CorrelationID: m.CorrelationID, CausationID: m.CausationID},
		RecordedAt: recorded.UTC(),
	}, true, nil
}

// visible reports whether an event of stream with type typ belongs to the
// global log of namespace: not a system event, not another namespace's, not
// of a transaction stream.
func visible(namespace, stream, typ string) bool {
	if strings.HasPrefix(typ, "$") || strings.HasPrefix(stream, "$") || !strings.HasPrefix(stream, namespace) {
		return false
	}
	return !strings.HasPrefix(stream[len(namespace):], txPrefix)
}

// errorCode returns the EventStoreDB error code carried by err.
func errorCode(err error) (esdb.ErrorCode, bool) {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

// isCode reports whether err carries the EventStoreDB error code c.
func isCode(err error, c esdb.ErrorCode) bool {
	code, ok := errorCode(err)
	return ok && code == c
}

// isUnavailable reports whether err says the server cannot be reached or
// is not ready.
func isUnavailable(err error) bool {
	code, ok := errorCode(err)
	return ok && (code == esdb.ErrorUnavailable || code == esdb.ErrorCodeDeadlineExceeded || code == esdb.ErrorCodeConnectionClosed)
}

// txID derives the id of a multi-stream append from its event ids, so a
// retry of the same append maps to the same transaction stream.
func txID(streams []eventstore.StreamEvents) uuid.UUID {
	var b strings.Builder
	for _, s := range streams {
		b.WriteString(s.StreamID)
		b.WriteByte(0)
		for _, e := range s.Events {
			b.WriteString(e.ID.String())
			b.WriteByte(0)
		}
	}
	return uuid.NewSHA1(txNamespace, []byte(b.String()))
}

// txNamespace is the UUIDv5 namespace of transaction ids.
var txNamespace = uuid.MustParse("7d0a9a4e-2b9c-4c7e-9f3e-1b5a2a6c0e11")

// ParseURL checks an EventStoreDB connection string (esdb:// or
// esdb+discover://) and returns the client configuration. The error names
// what is wrong without echoing credentials.
func ParseURL(raw string) (*esdb.Configuration, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "esdb" && u.Scheme != "esdb+discover" {
		return nil, fmt.Errorf("scheme %q: want esdb:// or esdb+discover://", u.Scheme)
	}
	if u.Host == "" || strings.HasPrefix(u.Host, ":") {
		return nil, errors.New("no host: want esdb://host:2113")
	}
	cfg, err := esdb.ParseConnectionString(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid EventStoreDB connection string: %w", err)
	}
	return cfg, nil
}

// Redact returns the URL without its password, for messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
