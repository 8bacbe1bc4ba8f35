package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/aggregates"
)

// DeadLetterTopic is the PoisonQueue topic; DeadLetters stores what is
// published on it.
const DeadLetterTopic = "crm.dead_letters"

// DeadLetters stores messages a handler could not process after its
// retries, and replays them. As a message.Publisher it is the
// PoisonQueue's destination.
type DeadLetters struct {
	pool *pgxpool.Pool
	b    *Backbone
}

// DeadLetter is one stored message.
type DeadLetter struct {
	ID         string            `json:"id"`
	Handler    string            `json:"handler"`
	Topic      string            `json:"topic"`
	MessageID  string            `json:"message_id"`
	Reason     string            `json:"reason"`
	Payload    json.RawMessage   `json:"payload"`
	Metadata   map[string]string `json:"metadata"`
	CreatedAt  time.Time         `json:"created_at"`
	ReplayedAt *time.Time        `json:"replayed_at"`
}

// Publish implements message.Publisher: it stores each message as a dead
// letter.
func (d *DeadLetters) Publish(_ string, msgs ...*message.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range msgs {
		meta, err := json.Marshal(map[string]string(m.Metadata))
		if err != nil {
			return err
		}
		// A partition's handler is stored as its automation.
		handler := handlerName(m.Metadata.Get(middleware.PoisonedHandlerKey))
		topic := m.Metadata.Get(middleware.PoisonedTopicKey)
		if strings.HasPrefix(topic, EventsTopic+".") {
			topic = EventsTopic
		}
		if _, err := d.pool.Exec(ctx, `INSERT INTO crm_dead_letters (id, handler, topic, message_id, reason, payload, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, uuid.Must(uuid.NewV7()), handler, topic, m.UUID,
			m.Metadata.Get(middleware.ReasonForPoisonedKey), []byte(m.Payload), meta); err != nil {
			return fmt.Errorf("store dead letter: %w", err)
		}
	}
	return nil
}

// Close implements message.Publisher.
func (d *DeadLetters) Close() error { return nil }

// List returns up to limit dead letters after the one with id after
// (oldest first) and the id to continue after, "" at the end.
func (d *DeadLetters) List(ctx context.Context, after string, limit int) ([]DeadLetter, string, error) {
	var afterID uuid.UUID
	if after != "" {
		id, err := uuid.Parse(after)
		if err != nil {
			return nil, "", &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: "cursor", Message: "not a dead letter id"}
		}
		afterID = id
	}
	rows, err := d.pool.Query(ctx, `SELECT id, handler, topic, message_id, reason, payload, metadata, created_at, replayed_at
FROM crm_dead_letters WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list dead letters: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DeadLetter, error) {
		var dl DeadLetter
		var id uuid.UUID
		var payload []byte
		err := row.Scan(&id, &dl.Handler, &dl.Topic, &dl.MessageID, &dl.Reason, &payload, &dl.Metadata, &dl.CreatedAt, &dl.ReplayedAt)
		dl.ID = id.String()
		dl.Payload = payloadJSON(payload)
		dl.CreatedAt = dl.CreatedAt.UTC()
		if dl.ReplayedAt != nil {
			t := dl.ReplayedAt.UTC()
			dl.ReplayedAt = &t
		}
		return dl, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list dead letters: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// payloadJSON shows a JSON payload as it is, anything else as a string.
func payloadJSON(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// Replay hands a dead letter to the handler that failed it once more and
// marks it replayed. If that handler fails again, the message becomes a
// new dead letter. Errors: an aggregates.Error NotFound for an unknown id,
// Refused dead_letter_replayed for one already replayed, Refused
// automations_not_running where the router, or the handler that failed
// it, does not run.
func (d *DeadLetters) Replay(ctx context.Context, id string) error {
	select {
	case <-d.b.router.Running():
	default:
		return &aggregates.Error{Kind: aggregates.Refused, Code: "automations_not_running",
			Message: "the automations do not run in this process; replay on one that runs them"}
	}
	if d.b.closing.Load() {
		return &aggregates.Error{Kind: aggregates.Refused, Code: "automations_not_running", Message: "the automations are stopping"}
	}
	uid, err := uuid.Parse(id)
	if err != nil {
		return &aggregates.Error{Kind: aggregates.NotFound, Code: "not_found", Message: "no dead letter " + id}
	}
	var handler, topic, msgID string
	var payload []byte
	var meta map[string]string
	// Marking it first makes two concurrent replays deliver it once.
	err = d.pool.QueryRow(ctx, `UPDATE crm_dead_letters SET replayed_at = now() WHERE id = $1 AND replayed_at IS NULL
RETURNING handler, topic, message_id, payload, metadata`, uid).Scan(&handler, &topic, &msgID, &payload, &meta)
	if errors.Is(err, pgx.ErrNoRows) {
		var exists bool
		if err := d.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM crm_dead_letters WHERE id = $1)`, uid).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return &aggregates.Error{Kind: aggregates.Refused, Code: "dead_letter_replayed", Message: "dead letter " + id + " was replayed already"}
		}
		return &aggregates.Error{Kind: aggregates.NotFound, Code: "not_found", Message: "no dead letter " + id}
	}
	if err != nil {
		return fmt.Errorf("replay dead letter %s: %w", id, err)
	}
	msg := message.NewMessage(msgID, payload)
	for k, v := range meta {
		switch k {
		case middleware.ReasonForPoisonedKey, middleware.PoisonedHandlerKey, middleware.PoisonedSubscriberKey, middleware.PoisonedTopicKey:
		default:
			msg.Metadata.Set(k, v)
		}
	}
	target := d.b.replayTopic(handler, topic)
	if strings.HasPrefix(target, EventsTopic) {
		// An event's handler that does not run here (the bus publisher
		// of a process started with --bus, say): the events topic has
		// no subscriber of its own, so the message would be dropped.
		_, _ = d.pool.Exec(context.WithoutCancel(ctx), `UPDATE crm_dead_letters SET replayed_at = NULL WHERE id = $1`, uid)
		return &aggregates.Error{Kind: aggregates.Refused, Code: "automations_not_running",
			Message: "the handler " + handler + " does not run in this process; replay on one that runs it"}
	}
	pub := message.Publisher(d.b.events)
	if !strings.HasPrefix(target, replayPrefix) {
		pub = d.b.commands
	}
	if err := pub.Publish(target, msg); err != nil {
		_, _ = d.pool.Exec(context.WithoutCancel(ctx), `UPDATE crm_dead_letters SET replayed_at = NULL WHERE id = $1`, uid)
		return fmt.Errorf("replay dead letter %s: %w", id, err)
	}
	return nil
}
