package workflows

import (
	"context"
	"encoding/json"
)

// Service is the automations' configuration and dead letters as the HTTP
// layer uses them.
type Service struct {
	Settings *Settings
	Dead     *DeadLetters
}

// Setting returns a setting as JSON.
func (s Service) Setting(ctx context.Context, name string) (json.RawMessage, error) {
	return s.Settings.Get(ctx, name)
}

// PutSetting validates and stores a setting.
func (s Service) PutSetting(ctx context.Context, name string, body []byte) (json.RawMessage, error) {
	return s.Settings.Put(ctx, name, body)
}

// DeadLetters returns a page of dead letters as a JSON array.
func (s Service) DeadLetters(ctx context.Context, cursor string, limit int) (json.RawMessage, string, error) {
	items, next, err := s.Dead.List(ctx, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	if items == nil {
		items = []DeadLetter{}
	}
	raw, err := json.Marshal(items)
	return raw, next, err
}

// ReplayDeadLetter replays one dead letter.
func (s Service) ReplayDeadLetter(ctx context.Context, id string) error {
	return s.Dead.Replay(ctx, id)
}
