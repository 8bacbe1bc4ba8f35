package workflows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
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

// decodeMessage reads an event message back. An event of a type this
// build does not know keeps a nil Domain, for automations to pass over; a
// known type whose data fails to decode or upcast is an error naming its
// position, so the automation never handles it as unknown: the handler
// fails, and the message ends as the automation's dead letter, with the
// error as its reason, to be replayed once the event can be read.
func decodeMessage(codec *eventstore.Registry, msg *message.Message) (Event, error) {
	var ev Event
	if err := json.Unmarshal(msg.Payload, &ev.IntegrationEvent); err != nil {
		return ev, fmt.Errorf("decode message %s: %w", msg.UUID, err)
	}
	v, err := codec.Decode(ev.Type, ev.Data)
	if errors.Is(err, eventstore.ErrUnknownEventType) {
		return ev, nil
	}
	if err != nil {
		return ev, fmt.Errorf("event %s at %s: %w", ev.ID, ev.Cursor, err)
	}
	ev.Domain, _ = v.(aggregates.Event)
	return ev, nil
}

// Revealer replaces the encrypted personal values of events, in place, by
// their plaintext while the person's key exists and by a fixed marker once
// it was erased (privacy.Vault does).
type Revealer interface {
	Reveal(ctx context.Context, events []eventstore.Event) ([]string, error)
}

// Reveal returns ev with its personal values revealed by r (ev as it is
// when r is nil). The automations, the dead letters and the webhook
// delivery log keep events as stored, encrypted; only what leaves the
// engine (a webhook request, a bus message) is revealed, as late as
// possible, so an erasure reaches every copy the engine keeps.
func Reveal(ctx context.Context, r Revealer, ev IntegrationEvent) (IntegrationEvent, error) {
	if r == nil {
		return ev, nil
	}
	evs := []eventstore.Event{{ID: ev.ID, StreamID: ev.Stream, Version: ev.Version, Type: ev.Type,
		Data: append(json.RawMessage(nil), ev.Data...), Metadata: ev.Metadata, RecordedAt: ev.RecordedAt}}
	if _, err := r.Reveal(ctx, evs); err != nil {
		return ev, fmt.Errorf("reveal event %s: %w", ev.ID, err)
	}
	ev.Data = evs[0].Data
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

// decodeCache decodes each event message once: every automation gets its
// own copy of the message (same UUID and payload) at about the same time.
// It remembers the last few messages.
type decodeCache struct {
	codec *eventstore.Registry
	mu    sync.Mutex
	byID  map[string]*decodedMessage
	order []string
}

type decodedMessage struct {
	once    sync.Once
	payload []byte
	ev      Event
	err     error
}

// decodeCacheSize bounds the remembered messages: the forwarder has one
// event in flight per partition, replays and redeliveries add a few.
const decodeCacheSize = 16

func newDecodeCache(codec *eventstore.Registry) *decodeCache {
	return &decodeCache{codec: codec, byID: map[string]*decodedMessage{}}
}

// decode returns msg's event, decoded by the first of its copies to ask.
// Handlers share the result and must not modify it.
func (c *decodeCache) decode(msg *message.Message) (Event, error) {
	c.mu.Lock()
	d := c.byID[msg.UUID]
	if d == nil || !bytes.Equal(d.payload, msg.Payload) {
		if d == nil {
			if len(c.order) == decodeCacheSize {
				delete(c.byID, c.order[0])
				c.order = c.order[1:]
			}
			c.order = append(c.order, msg.UUID)
		}
		d = &decodedMessage{payload: msg.Payload}
		c.byID[msg.UUID] = d
	}
	c.mu.Unlock()
	d.once.Do(func() { d.ev, d.err = decodeMessage(c.codec, msg) })
	return d.ev, d.err
}
