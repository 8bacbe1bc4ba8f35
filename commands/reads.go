package commands

import (
	"context"
	"time"

	"crm/aggregates"
)

// notFound is the error of a read or command on a missing entity.
func notFound(entityType, id string) error {
	return &aggregates.Error{Kind: aggregates.NotFound, Code: "not_found", Message: entityType + " " + id + " not found"}
}

// existence is what every aggregate answers.
type existence interface {
	applier
	Exists() bool
}

// fold loads an entity's stream into agg, as of a time when asOf is not
// zero, and returns its version; a missing entity is a NotFound error.
func (h *Handler) fold(ctx context.Context, entityType, id string, asOf time.Time, agg existence) (int64, error) {
	recs, err := h.repo.Load(ctx, streamOf(entityType, id), asOf)
	if err != nil {
		return 0, err
	}
	for _, r := range recs {
		agg.Apply(r.Event)
	}
	if !agg.Exists() {
		return 0, notFound(entityType, id)
	}
	return recs[len(recs)-1].Version, nil
}

// Lead returns a lead's state (as of asOf when not zero) and version.
func (h *Handler) Lead(ctx context.Context, id string, asOf time.Time) (aggregates.LeadView, int64, error) {
	l := aggregates.NewLead(id)
	v, err := h.fold(ctx, TypeLead, id, asOf, l)
	return l.View(), v, err
}

// Account returns an account's state and version.
func (h *Handler) Account(ctx context.Context, id string, asOf time.Time) (aggregates.AccountView, int64, error) {
	a := aggregates.NewAccount(id)
	v, err := h.fold(ctx, TypeAccount, id, asOf, a)
	return a.View(), v, err
}

// Contact returns a contact's state and its account's version.
func (h *Handler) Contact(ctx context.Context, id string, asOf time.Time) (aggregates.ContactView, int64, error) {
	_, accountID, ok, err := h.repo.ClaimOwner(ctx, ClaimContact, id)
	if err != nil {
		return aggregates.ContactView{}, 0, err
	}
	if !ok {
		return aggregates.ContactView{}, 0, notFound("contact", id)
	}
	a := aggregates.NewAccount(accountID)
	v, err := h.fold(ctx, TypeAccount, accountID, asOf, a)
	if err != nil {
		return aggregates.ContactView{}, 0, notFound("contact", id)
	}
	c, ok := a.Contact(id)
	if !ok {
		return aggregates.ContactView{}, 0, notFound("contact", id)
	}
	return c, v, nil
}

// Opportunity returns an opportunity's state and version.
func (h *Handler) Opportunity(ctx context.Context, id string, asOf time.Time) (aggregates.OpportunityView, int64, error) {
	o := aggregates.NewOpportunity(id)
	v, err := h.fold(ctx, TypeOpportunity, id, asOf, o)
	return o.View(), v, err
}

// Ticket returns a ticket's state and version.
func (h *Handler) Ticket(ctx context.Context, id string, asOf time.Time) (aggregates.TicketView, int64, error) {
	t := aggregates.NewTicket(id)
	v, err := h.fold(ctx, TypeTicket, id, asOf, t)
	return t.View(), v, err
}

// History returns an entity's events, oldest first; NotFound when it has
// none.
func (h *Handler) History(ctx context.Context, entityType, id string) ([]Recorded, error) {
	recs, err := h.repo.Load(ctx, streamOf(entityType, id), time.Time{})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, notFound(entityType, id)
	}
	return recs, nil
}
