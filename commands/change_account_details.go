package commands

import (
	"context"

	"crm/aggregates"
)

// ChangeAccountDetails changes an account's details; only fields that
// really change are recorded.
type ChangeAccountDetails struct {
	Envelope
	AccountID string
	aggregates.ChangeAccountDetails
}

// ChangeAccountDetails handles ChangeAccountDetails.
func (h *Handler) ChangeAccountDetails(ctx context.Context, c *ChangeAccountDetails) error {
	if c.OwnerID != nil {
		if err := h.ActiveUser(ctx, "owner_id", *c.OwnerID); err != nil {
			return err
		}
	}
	return h.accountCommand(ctx, &c.Envelope, c.AccountID, func(_ *unit, a *aggregates.Account) ([]aggregates.Event, error) {
		return a.ChangeDetails(c.ChangeAccountDetails)
	})
}
