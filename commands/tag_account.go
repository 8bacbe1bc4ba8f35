package commands

import (
	"context"

	"crm/aggregates"
)

// TagAccount adds and removes an account's tags.
type TagAccount struct {
	Envelope
	AccountID   string
	Add, Remove []string
}

// TagAccount handles TagAccount.
func (h *Handler) TagAccount(ctx context.Context, c *TagAccount) error {
	return h.accountCommand(ctx, &c.Envelope, c.AccountID, func(_ *unit, a *aggregates.Account) ([]aggregates.Event, error) {
		return a.ChangeTags(c.Add, c.Remove)
	})
}
