package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"crm/api"
	"crm/internal/apikeys"
)

// KeysForAPI adapts a key store to the HTTP layer's api.Keys, mapping
// apikeys.ErrNotFound to api.ErrUnknownKey, apikeys.ErrInvalid to
// api.ErrBadKey and apikeys.ErrNameTaken to api.ErrKeyNameTaken. With
// users set, a key bound to a user who is no longer active authenticates
// no one (api.ErrUnknownKey).
func KeysForAPI(s *apikeys.Store, users ActiveUsers) api.Keys { return apiKeys{store: s, users: users} }

// ActiveUsers tells whether a user is active: nil, or an error naming
// field, when not.
type ActiveUsers interface {
	ActiveUser(ctx context.Context, field, id string) error
}

type apiKeys struct {
	store *apikeys.Store
	users ActiveUsers
}

func keyInfo(k apikeys.Key) api.KeyInfo {
	info := api.KeyInfo{ID: k.ID.String(), Name: k.Name, Role: k.Role, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339), UserID: k.UserID}
	if k.RevokedAt != nil {
		s := k.RevokedAt.UTC().Format(time.RFC3339)
		info.RevokedAt = &s
	}
	return info
}

func mapKeyErr(err error) error {
	switch {
	case errors.Is(err, apikeys.ErrNotFound):
		return fmt.Errorf("%w: %w", api.ErrUnknownKey, err)
	case errors.Is(err, apikeys.ErrInvalid):
		return fmt.Errorf("%w: %w", api.ErrBadKey, err)
	case errors.Is(err, apikeys.ErrNameTaken):
		return fmt.Errorf("%w: %w", api.ErrKeyNameTaken, err)
	}
	return err
}

func (a apiKeys) Authenticate(ctx context.Context, secret string) (api.Principal, error) {
	k, err := a.store.Authenticate(ctx, secret)
	if err != nil {
		return api.Principal{}, mapKeyErr(err)
	}
	if k.UserID != "" && a.users != nil {
		if err := a.users.ActiveUser(ctx, "user_id", k.UserID); err != nil {
			var kinded interface{ ErrorKind() string }
			if errors.As(err, &kinded) && kinded.ErrorKind() == "invalid" {
				return api.Principal{}, fmt.Errorf("%w: the key's user %s is not active", api.ErrUnknownKey, k.UserID)
			}
			return api.Principal{}, err
		}
	}
	return api.Principal{KeyID: k.ID.String(), Name: k.Name, Role: k.Role, UserID: k.UserID}, nil
}

func (a apiKeys) Create(ctx context.Context, name, role, userID string) (api.KeyInfo, string, error) {
	k, secret, err := a.store.CreateForUser(ctx, name, role, userID)
	if err != nil {
		return api.KeyInfo{}, "", mapKeyErr(err)
	}
	return keyInfo(k), secret, nil
}

func (a apiKeys) List(ctx context.Context) ([]api.KeyInfo, error) {
	keys, err := a.store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.KeyInfo, len(keys))
	for i, k := range keys {
		out[i] = keyInfo(k)
	}
	return out, nil
}

func (a apiKeys) Revoke(ctx context.Context, id string) error {
	u, err := uuid.Parse(id)
	if err != nil {
		return fmt.Errorf("%w: %s", api.ErrUnknownKey, id)
	}
	return mapKeyErr(a.store.Revoke(ctx, u))
}
