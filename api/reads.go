package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"

	"crm/commands"
)

func isUUID(v string) bool {
	_, err := uuid.Parse(v)
	return err == nil && len(v) == 36
}

// asOf parses ?as_of= (RFC 3339); absent means now.
func asOf(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("as_of")
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badField("as_of", "must be an RFC 3339 time such as 2026-03-31T23:59:59Z")
	}
	return t, nil
}

// readByID serves a by-id read: the state with its version and ETag.
func readByID[V any](s *server, load func(ctx context.Context, id string, asOf time.Time) (V, int64, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		at, err := asOf(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		view, version, err := load(r.Context(), id, at)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		b, err := json.Marshal(view)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		// The view's fields plus its version, in one object.
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			s.errs.write(w, r, err)
			return
		}
		obj["version"], _ = json.Marshal(version)
		w.Header().Set("ETag", etag(version))
		writeJSON(w, http.StatusOK, obj)
	}
}

func (s *server) readLead(w http.ResponseWriter, r *http.Request) { readByID(s, s.cmds.Lead)(w, r) }

// historyEvent is one event of GET /v1/{type}/{id}/history.
type historyEvent struct {
	ID         string          `json:"id"`
	Version    int64           `json:"version"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	Metadata   historyMeta     `json:"metadata"`
	RecordedAt time.Time       `json:"recorded_at"`
}

type historyMeta struct {
	Actor         string `json:"actor"`
	CommandID     string `json:"command_id"`
	CorrelationID string `json:"correlation_id"`
	CausationID   string `json:"causation_id"`
}

// history serves an entity's events, oldest first.
func (s *server) history(entityType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		recs, err := s.cmds.History(r.Context(), entityType, id)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		items := make([]historyEvent, len(recs))
		for i, rec := range recs {
			data, err := json.Marshal(rec.Event)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			items[i] = historyEvent{ID: rec.ID, Version: rec.Version, Type: rec.Type, Data: data, RecordedAt: rec.RecordedAt,
				Metadata: historyMeta{Actor: rec.Metadata.Actor, CommandID: rec.Metadata.CommandID,
					CorrelationID: rec.Metadata.CorrelationID, CausationID: rec.Metadata.CausationID}}
		}
		w.Header().Set("ETag", etag(recs[len(recs)-1].Version))
		writeJSON(w, http.StatusOK, map[string]any{"items": items})
	}
}

// activityRoute serves POST /{type}/{id}/activities.
func (s *server) activityRoute(entityType string) http.HandlerFunc {
	return s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
		var req struct {
			Kind    string     `json:"kind"`
			Subject string     `json:"subject"`
			Body    string     `json:"body"`
			DueAt   *time.Time `json:"due_at"`
			Done    bool       `json:"done"`
			OwnerID string     `json:"owner_id"`
		}
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		c := commands.LogActivity{EntityType: entityType, EntityID: id}
		c.Kind, c.Subject, c.Body, c.DueAt, c.Done, c.OwnerID = req.Kind, req.Subject, req.Body, req.DueAt, req.Done, req.OwnerID
		return bind(&c, s.cmds.LogActivity), nil
	})
}
