package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"crm/aggregates"
	"crm/eventstore"
)

// EventsTopic is the topic the forwarder publishes the committed log on.
const EventsTopic = "crm.events"

// metaEventType is the message metadata key holding the event type.
const metaEventType = "event_type"

// IntegrationEvent is an event as automations, webhooks and the message
// bus see it: the same fields as the /v1/events feed.
type IntegrationEvent struct {
	ID         uuid.UUID           `json:"id"`
	Cursor     string              `json:"cursor"`
	Stream     string              `json:"stream"`
	Version    int64               `json:"version"`
	Type       string              `json:"type"`
	Data       json.RawMessage     `json:"data"`
	Metadata   eventstore.Metadata `json:"metadata"`
	RecordedAt time.Time           `json:"recorded_at"`
}

// Event is a delivered event with its decoded domain event (nil for a
// type this build does not know).
type Event struct {
	IntegrationEvent
	Domain aggregates.Event
}

// newMessage turns a stored event into a message whose UUID is the event
// id (stable across redeliveries).
func newMessage(ev eventstore.Event) (*message.Message, error) {
	return IntegrationMessage(IntegrationEvent{ID: ev.ID, Cursor: ev.Cursor.String(), Stream: ev.StreamID, Version: ev.Version,
		Type: ev.Type, Data: ev.Data, Metadata: ev.Metadata, RecordedAt: ev.RecordedAt.UTC()})
}

// decodeMessage reads an event message back.
func decodeMessage(codec *eventstore.Registry, msg *message.Message) (Event, error) {
	var ev Event
	if err := json.Unmarshal(msg.Payload, &ev.IntegrationEvent); err != nil {
		return ev, fmt.Errorf("decode message %s: %w", msg.UUID, err)
	}
	if v, err := codec.Decode(ev.Type, ev.Data); err == nil {
		ev.Domain, _ = v.(aggregates.Event)
	}
	return ev, nil
}

// IntegrationMessage is ev as a message for another transport: its JSON
// as the payload, the event id as the message UUID, the type and the
// correlation id in the metadata.
func IntegrationMessage(ev IntegrationEvent) (*message.Message, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	msg := message.NewMessage(ev.ID.String(), payload)
	msg.Metadata.Set(metaEventType, ev.Type)
	if ev.Metadata.CorrelationID != "" {
		middleware.SetCorrelationID(ev.Metadata.CorrelationID, msg)
	}
	return msg, nil
}
