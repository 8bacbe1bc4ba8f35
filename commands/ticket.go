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

// ticketCommand loads a ticket, runs act on it and appends what it
// decides.
func (h *Handler) ticketCommand(ctx context.Context, env *Envelope, id string, act func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error)) error {
	stream := streamOf(TypeTicket, id)
	return h.run(ctx, env, id, stream, func(u *unit) error {
		t := aggregates.NewTicket(id)
		if _, err := u.load(stream, t); err != nil {
			return err
		}
		evs, err := act(u, t)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		return nil
	})
}

// AssignTicket gives a ticket to an agent.
type AssignTicket struct {
	Envelope
	TicketID, AssigneeID string
}

// AssignTicket handles AssignTicket.
func (h *Handler) AssignTicket(ctx context.Context, c *AssignTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(_ *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Assign(c.AssigneeID)
	})
}

// RespondToTicket records a response to the customer.
type RespondToTicket struct {
	Envelope
	TicketID, Body string
}

// RespondToTicket handles RespondToTicket.
func (h *Handler) RespondToTicket(ctx context.Context, c *RespondToTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Respond(c.Body, u.now)
	})
}

// ChangeTicketPriority changes a ticket's priority and SLA targets.
type ChangeTicketPriority struct {
	Envelope
	TicketID, Priority string
}

// ChangeTicketPriority handles ChangeTicketPriority.
func (h *Handler) ChangeTicketPriority(ctx context.Context, c *ChangeTicketPriority) error {
	policy, err := h.policy(ctx)
	if err != nil {
		return err
	}
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.ChangePriority(c.Priority, policy, u.now)
	})
}

// EscalateTicket escalates a ticket.
type EscalateTicket struct {
	Envelope
	TicketID, Reason string
}

// EscalateTicket handles EscalateTicket.
func (h *Handler) EscalateTicket(ctx context.Context, c *EscalateTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Escalate(c.Reason, u.now)
	})
}

// ResolveTicket resolves a ticket.
type ResolveTicket struct {
	Envelope
	TicketID, Resolution string
}

// ResolveTicket handles ResolveTicket.
func (h *Handler) ResolveTicket(ctx context.Context, c *ResolveTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Resolve(c.Resolution, u.now)
	})
}

// CloseTicket closes a resolved ticket.
type CloseTicket struct {
	Envelope
	TicketID string
}

// CloseTicket handles CloseTicket.
func (h *Handler) CloseTicket(ctx context.Context, c *CloseTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Close(u.now)
	})
}

// ReopenTicket reopens a resolved or closed ticket.
type ReopenTicket struct {
	Envelope
	TicketID, Reason string
}

// ReopenTicket handles ReopenTicket.
func (h *Handler) ReopenTicket(ctx context.Context, c *ReopenTicket) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.Reopen(c.Reason, u.now)
	})
}

// RecordSatisfaction records the customer's satisfaction score.
type RecordSatisfaction struct {
	Envelope
	TicketID string
	Score    int
	Comment  string
}

// RecordSatisfaction handles RecordSatisfaction.
func (h *Handler) RecordSatisfaction(ctx context.Context, c *RecordSatisfaction) error {
	return h.ticketCommand(ctx, &c.Envelope, c.TicketID, func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error) {
		return t.RecordSatisfaction(c.Score, c.Comment, u.now)
	})
}
