package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// ProjectionInfo is one projector's state.
type ProjectionInfo struct {
	Name          string       `json:"name"`
	Checkpoint    string       `json:"checkpoint"`
	Head          string       `json:"head"`
	CaughtUp      bool         `json:"caught_up"`
	State         string       `json:"state"`
	Error         *string      `json:"error"`
	ErrorPosition *string      `json:"error_position"`
	EventsApplied int64        `json:"events_applied"`
	Owner         *string      `json:"owner"`
	UpdatedAt     *time.Time   `json:"updated_at"`
	Rebuild       *RebuildInfo `json:"rebuild"`
}

// RebuildInfo is a projector's latest rebuild.
type RebuildInfo struct {
	State     string     `json:"state"`
	Done      int64      `json:"done"`
	Total     int64      `json:"total"`
	Error     *string    `json:"error"`
	RebuiltAt *time.Time `json:"rebuilt_at"`
}

// Horizon tells whether committed events wait, unreadable, behind a
// transaction still running on the database server (readers never skip an
// event, so they stop there), and which session holds them back.
type Horizon struct {
	EventsWaiting int64   `json:"events_waiting"`
	OldestWriter  *Writer `json:"oldest_writer"`
}

// Writer is a database session holding a write transaction open.
type Writer struct {
	PID                  int        `json:"pid"`
	Database             string     `json:"database"`
	Application          string     `json:"application"`
	State                string     `json:"state"`
	TransactionStartedAt *time.Time `json:"transaction_started_at"`
}

// Projections reports and rebuilds projectors.
type Projections interface {
	// Status lists every projector.
	Status(ctx context.Context) ([]ProjectionInfo, error)
	// Horizon reports events held back by a running transaction.
	Horizon(ctx context.Context) (Horizon, error)
	// StartRebuild starts rebuilding a projector in the background. Errors:
	// ErrUnknownProjection, ErrRebuildRunning.
	StartRebuild(name string) error
}

// Errors of Projections.StartRebuild.
var (
	// ErrUnknownProjection: no projector has that name (kind not_found).
	ErrUnknownProjection = sentinel(kindNotFound, "not_found", "unknown projection")
	// ErrRebuildRunning: the projector is rebuilding already (kind
	// conflict, code "rebuild_running").
	ErrRebuildRunning = sentinel(kindConflict, "rebuild_running", "a rebuild of this projection is already running")
)

// FeedEvent is one event of GET /v1/events.
type FeedEvent struct {
	Cursor     string          `json:"cursor"`
	ID         string          `json:"id"`
	Stream     string          `json:"stream"`
	Version    int64           `json:"version"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	Metadata   FeedMetadata    `json:"metadata"`
	RecordedAt time.Time       `json:"recorded_at"`
}

// FeedMetadata is an event's metadata in the feed.
type FeedMetadata struct {
	Actor         string `json:"actor"`
	CommandID     string `json:"command_id"`
	CorrelationID string `json:"correlation_id"`
	CausationID   string `json:"causation_id"`
	SchemaVersion int    `json:"schema_version"`
}

// EventFeed reads the ordered global log.
type EventFeed interface {
	// Events returns up to limit events after the cursor whose type
	// matches one of types (exact, or a prefix ending in "*"; all when
	// empty), and the cursor of the last event inspected, to continue from
	// (empty when nothing lay after the cursor). A malformed cursor is
	// ErrBadPosition.
	Events(ctx context.Context, after string, limit int, types []string) ([]FeedEvent, string, error)
}

func (s *server) projectionRoutes(r chi.Router) {
	r.With(require(permEvents)).Get("/projections", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.projections.Status(r.Context())
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		h, err := s.projections.Horizon(r.Context())
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": st, "horizon": h})
	})
	r.With(require(permKeys)).Post("/projections/{name}/rebuild", func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "name")
		err := s.projections.StartRebuild(name)
		switch {
		case errors.Is(err, ErrUnknownProjection):
			s.errs.write(w, r, codedErr(kindNotFound, "not_found", "no projection "+strconv.Quote(name)))
		case err != nil:
			s.errs.write(w, r, err)
		default:
			writeJSON(w, http.StatusAccepted, map[string]string{"name": name, "state": "rebuilding", "status": "/v1/projections"})
		}
	})
	r.With(require(permEvents)).Get("/events", func(w http.ResponseWriter, r *http.Request) {
		limit, err := limitParam(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		var types []string
		if v := r.URL.Query().Get("types"); v != "" {
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					types = append(types, t)
				}
			}
		}
		items, next, err := s.feed.Events(r.Context(), r.URL.Query().Get("after"), limit, types)
		if errors.Is(err, ErrBadPosition) {
			s.errs.write(w, r, badField("after", "must be a cursor from this feed or a command response"))
			return
		}
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		if items == nil {
			items = []FeedEvent{}
		}
		var nextCursor *string
		if next != "" {
			nextCursor = &next
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": nextCursor})
	})
}
