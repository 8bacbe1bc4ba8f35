package commands

import (
	"context"

	"crm/aggregates"
)

// AddContact adds a contact to an account and reserves its email.
type AddContact struct {
	Envelope
	AccountID string
	aggregates.AddContact
}

// AddContact handles AddContact; Result.ID is the account's id and
// Result.Extra["contact_id"] the new contact's.
func (h *Handler) AddContact(ctx context.Context, c *AddContact) error {
	c.ContactID = h.newID()
	return h.accountCommand(ctx, &c.Envelope, c.AccountID, func(u *unit, a *aggregates.Account) ([]aggregates.Event, error) {
		evs, err := a.AddContact(c.AddContact, u.now)
		if err != nil {
			return nil, err
		}
		added := evs[0].(aggregates.ContactAddedEvent)
		u.batch.Claims = append(u.batch.Claims,
			Claim{Kind: ClaimEmail, Key: added.Email, OwnerType: "contact", OwnerID: c.ContactID},
			Claim{Kind: ClaimContact, Key: c.ContactID, OwnerType: TypeAccount, OwnerID: c.AccountID})
		u.created = true
		u.extra[ExtraContactID] = c.ContactID
		return evs, nil
	})
}
