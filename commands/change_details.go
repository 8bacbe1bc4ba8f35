package commands

import (
	"context"

	"crm/aggregates"
)

// ChangeLeadDetails changes a lead's details; only fields that really
// change are recorded. A new email moves the lead's reservation: the new
// address is claimed and the old one released in the same transaction as
// the event, so of two records racing for one address exactly one gets
// it (*ClaimTakenError for the other).
type ChangeLeadDetails struct {
	Envelope
	LeadID string
	aggregates.ChangeLeadDetails
}

// ChangeLeadDetails handles ChangeLeadDetails.
func (h *Handler) ChangeLeadDetails(ctx context.Context, c *ChangeLeadDetails) error {
	return h.leadCommand(ctx, &c.Envelope, c.LeadID, func(u *unit, l *aggregates.Lead) ([]aggregates.Event, error) {
		old := l.Person().Email
		evs, err := l.ChangeDetails(c.ChangeLeadDetails)
		if err != nil || len(evs) == 0 {
			return evs, err
		}
		if next := evs[0].(aggregates.LeadDetailsChangedEvent).Email; next != old {
			u.moveEmail(old, next, TypeLead, c.LeadID)
		}
		return evs, nil
	})
}

// ChangeContactDetails changes a contact's details; a new email moves its
// reservation as ChangeLeadDetails does.
type ChangeContactDetails struct {
	Envelope
	ContactID string
	aggregates.ChangeContactDetails
}

// ChangeContactDetails handles ChangeContactDetails; Result.ID is the
// contact's account's id and Result.Extra["contact_id"] the contact's. An
// unknown contact is NotFound.
func (h *Handler) ChangeContactDetails(ctx context.Context, c *ChangeContactDetails) error {
	_, accountID, ok, err := h.repo.ClaimOwner(ctx, ClaimContact, c.ContactID)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("contact", c.ContactID)
	}
	return h.accountCommand(ctx, &c.Envelope, accountID, func(u *unit, a *aggregates.Account) ([]aggregates.Event, error) {
		var old string
		if cv, ok := a.Contact(c.ContactID); ok {
			old = cv.Email
		}
		evs, err := a.ChangeContactDetails(c.ContactID, c.ChangeContactDetails)
		if err != nil {
			return nil, err
		}
		u.extra[ExtraContactID] = c.ContactID
		if len(evs) == 0 {
			return nil, nil
		}
		ev := evs[0].(aggregates.ContactDetailsChangedEvent)
		if ev.Email != old {
			u.moveEmail(old, ev.Email, "contact", c.ContactID)
		}
		return evs, nil
	})
}

// moveEmail claims next for the owner and releases prev, in the command's
// transaction.
func (u *unit) moveEmail(prev, next, ownerType, ownerID string) {
	u.batch.Claims = append(u.batch.Claims, Claim{Kind: ClaimEmail, Key: next, OwnerType: ownerType, OwnerID: ownerID})
	if prev != "" && prev != aggregates.ErasedValue {
		u.batch.Releases = append(u.batch.Releases, Claim{Kind: ClaimEmail, Key: prev, OwnerType: ownerType, OwnerID: ownerID})
	}
}

// ChangeOpportunityDetails changes an opportunity's name or owner.
type ChangeOpportunityDetails struct {
	Envelope
	OpportunityID string
	aggregates.ChangeOpportunityDetails
}

// ChangeOpportunityDetails handles ChangeOpportunityDetails.
func (h *Handler) ChangeOpportunityDetails(ctx context.Context, c *ChangeOpportunityDetails) error {
	if c.OwnerID != nil {
		if err := h.ActiveUser(ctx, "owner_id", *c.OwnerID); err != nil {
			return err
		}
	}
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(_ *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		return o.ChangeDetails(c.ChangeOpportunityDetails)
	})
}

// ChangeTicketDetails changes a ticket's subject, description or channel.
type ChangeTicketDetails struct {
	Envelope
	TicketID string
	aggregates.ChangeTicketDetails
}

// ChangeTicketDetails handles ChangeTicketDetails.
func (h *Handler) ChangeTicketDetails(ctx context.Context, c *ChangeTicketDetails) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(_ *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.ChangeDetails(c.ChangeTicketDetails)
	})
}
