package commands

import (
	"context"
	"time"

	"crm/aggregates"
)

// existingCommand is the one path of a command on an existing aggregate:
// load the stream entityType-id into a fresh aggregate made by newAgg, let
// act decide, and append what it decides. It runs inside h.run, so it is
// retried on version conflicts and idempotent.
func existingCommand[A applier](ctx context.Context, h *Handler, env *Envelope, entityType, id string, newAgg func(string) A,
	act func(u *unit, a A) ([]aggregates.Event, error)) error {
	stream := streamOf(entityType, id)
	return h.run(ctx, env, id, stream, func(u *unit) error {
		a := newAgg(id)
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

// leadCommand loads a lead, runs act on it and appends what it decides,
// encrypted under the lead's data subject.
func (h *Handler) leadCommand(ctx context.Context, env *Envelope, id string, act func(u *unit, l *aggregates.Lead) ([]aggregates.Event, error)) error {
	return existingCommand(ctx, h, env, TypeLead, id, aggregates.NewLead, func(u *unit, l *aggregates.Lead) ([]aggregates.Event, error) {
		evs, err := act(u, l)
		if err == nil {
			u.subjects[streamOf(TypeLead, id)] = l.Person().Email
		}
		return evs, err
	})
}

// accountCommand loads an account, runs act on it and appends what it
// decides.
func (h *Handler) accountCommand(ctx context.Context, env *Envelope, id string, act func(u *unit, a *aggregates.Account) ([]aggregates.Event, error)) error {
	return existingCommand(ctx, h, env, TypeAccount, id, aggregates.NewAccount, act)
}

// opportunityCommand loads an opportunity, runs act on it and appends what
// it decides.
func (h *Handler) opportunityCommand(ctx context.Context, env *Envelope, id string, act func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error)) error {
	return existingCommand(ctx, h, env, TypeOpportunity, id, aggregates.NewOpportunity, act)
}

// ticketCommand loads a ticket, runs act on it and appends what it
// decides.
func (h *Handler) ticketCommand(ctx context.Context, env *Envelope, id string, act func(u *unit, t *aggregates.Ticket) ([]aggregates.Event, error)) error {
	return existingCommand(ctx, h, env, TypeTicket, id, aggregates.NewTicket, act)
}

// mustExist checks that a referenced entity exists; a missing one is an
// Invalid error naming field.
func (h *Handler) mustExist(ctx context.Context, field, entityType, id string) error {
	if id == "" {
		return nil
	}
	recs, err := h.repo.Load(ctx, streamOf(entityType, id), time.Time{})
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: field, Message: "no " + entityType + " " + id}
	}
	return nil
}
