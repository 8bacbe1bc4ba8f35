package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Webhooks manages webhook subscriptions and shows their deliveries.
// Errors are domain errors: Invalid naming the field of a bad
// subscription, NotFound for an unknown one.
type Webhooks interface {
	// CreateWebhook stores a subscription from its JSON body and returns it.
	CreateWebhook(ctx context.Context, body []byte) (json.RawMessage, error)
	// ListWebhooks returns the active subscriptions as a JSON array.
	ListWebhooks(ctx context.Context) (json.RawMessage, error)
	// DeleteWebhook stops a subscription.
	DeleteWebhook(ctx context.Context, id string) error
	// WebhookDeliveries returns a JSON array of up to limit deliveries
	// after the cursor and the next cursor ("" at the end).
	WebhookDeliveries(ctx context.Context, id, cursor string, limit int) (json.RawMessage, string, error)
}

// permWebhooks manages integrations (admin only).
const permWebhooks = "webhooks:manage"

func (s *server) webhookRoutes(r chi.Router) {
	if s.webhooks == nil {
		return
	}
	r.Group(func(r chi.Router) {
		r.Use(require(permWebhooks))
		r.Post("/webhooks", func(w http.ResponseWriter, r *http.Request) {
			body, err := readBody(r, false)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			h, err := s.webhooks.CreateWebhook(r.Context(), body)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			writeJSON(w, http.StatusCreated, h)
		})
		r.Get("/webhooks", func(w http.ResponseWriter, r *http.Request) {
			items, err := s.webhooks.ListWebhooks(r.Context())
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": nil})
		})
		r.Delete("/webhooks/{id}", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			if err := s.webhooks.DeleteWebhook(r.Context(), id); err != nil {
				s.errs.write(w, r, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		r.Get("/webhooks/{id}/deliveries", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			limit, err := limitParam(r)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			items, next, err := s.webhooks.WebhookDeliveries(r.Context(), id, r.URL.Query().Get("cursor"), limit)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			var nextCursor *string
			if next != "" {
				nextCursor = &next
			}
			writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": nextCursor})
		})
	})
}
