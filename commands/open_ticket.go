package commands

import (
	"context"

	"crm/aggregates"
)

// OpenTicket opens a customer service ticket.
type OpenTicket struct {
	Envelope
	aggregates.OpenTicket
	// ID, when set, is the new ticket's id: an automation derives it from
	// what caused the ticket, so a second attempt finds the ticket open
	// (Refused ticket_exists) instead of opening another.
	ID string
}

// OpenTicket handles OpenTicket; its SLA targets come from the handler's
// policy. Unknown account or contact ids are Invalid errors naming the
// field.
func (h *Handler) OpenTicket(ctx context.Context, c *OpenTicket) error {
	id := c.ID
	if id == "" {
		id = h.newID()
	}
	stream := streamOf(TypeTicket, id)
	policy, err := h.policy(ctx)
	if err != nil {
		return err
	}
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		if err := h.mustExist(ctx, "account_id", TypeAccount, c.AccountID); err != nil {
			return err
		}
		if c.ContactID != "" {
			_, owner, ok, err := h.repo.ClaimOwner(ctx, ClaimContact, c.ContactID)
			if err != nil {
				return err
			}
			if !ok || (c.AccountID != "" && owner != c.AccountID) {
				return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: "contact_id", Message: "no such contact on this account"}
			}
		}
		t := aggregates.NewTicket(id)
		if c.ID == "" {
			if err := u.loadNew(stream, t); err != nil {
				return err
			}
		} else if _, err := u.load(stream, t); err != nil {
			return err
		}
		evs, err := t.Open(c.OpenTicket, policy, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}
