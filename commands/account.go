package commands

import (
	"context"

	"crm/aggregates"
)

// OpenAccount creates an account.
type OpenAccount struct {
	Envelope
	aggregates.OpenAccount
}

// OpenAccount handles OpenAccount.
func (h *Handler) OpenAccount(ctx context.Context, c *OpenAccount) error {
	id := h.newID()
	stream := streamOf(TypeAccount, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		a := aggregates.NewAccount(id)
		if err := u.loadNew(stream, a); err != nil {
			return err
		}
		evs, err := a.Open(c.OpenAccount, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}

// accountCommand loads an account, runs act on it and appends what it
// decides.
func (h *Handler) accountCommand(ctx context.Context, env *Envelope, id string, act func(u *unit, a *aggregates.Account) ([]aggregates.Event, error)) error {
	stream := streamOf(TypeAccount, id)
	return h.run(ctx, env, id, stream, func(u *unit) error {
		a := aggregates.NewAccount(id)
		if _, err := u.load(stream, a); err != nil {
			return err
		}
		evs, err := act(u, a)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		return nil
	})
}

// ChangeAccountDetails changes an account's details; only fields that
// really change are recorded.
type ChangeAccountDetails struct {
	Envelope
	AccountID string
	aggregates.ChangeAccountDetails
}

// ChangeAccountDetails handles ChangeAccountDetails.
func (h *Handler) ChangeAccountDetails(ctx context.Context, c *ChangeAccountDetails) error {
	return h.accountCommand(ctx, &c.Envelope, c.AccountID, func(_ *unit, a *aggregates.Account) ([]aggregates.Event, error) {
		return a.ChangeDetails(c.ChangeAccountDetails)
	})
}

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
