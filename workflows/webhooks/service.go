package webhooks

import (
	"context"
	"encoding/json"
)

// Service is the webhooks as the HTTP layer uses them: JSON in and out.
type Service struct{ W *Webhooks }

// CreateWebhook stores a subscription and returns it.
func (s Service) CreateWebhook(ctx context.Context, body []byte) (json.RawMessage, error) {
	h, err := s.W.Create(ctx, body)
	if err != nil {
		return nil, err
	}
	return json.Marshal(h)
}

// ListWebhooks returns the active subscriptions as a JSON array.
func (s Service) ListWebhooks(ctx context.Context) (json.RawMessage, error) {
	hs, err := s.W.List(ctx)
	if err != nil {
		return nil, err
	}
	if hs == nil {
		hs = []Webhook{}
	}
	return json.Marshal(hs)
}

// DeleteWebhook stops a subscription.
func (s Service) DeleteWebhook(ctx context.Context, id string) error { return s.W.Delete(ctx, id) }

// WebhookDeliveries returns a page of a subscription's deliveries as a
// JSON array and the next cursor.
func (s Service) WebhookDeliveries(ctx context.Context, id, cursor string, limit int) (json.RawMessage, string, error) {
	ds, next, err := s.W.Deliveries(ctx, id, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	if ds == nil {
		ds = []Delivery{}
	}
	raw, err := json.Marshal(ds)
	return raw, next, err
}
