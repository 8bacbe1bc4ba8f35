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
	return foldInto(recs, entityType, id, agg)
}

// foldInto applies recs to agg and returns the version they end at; an
// entity they do not create is a NotFound error.
func foldInto(recs []Recorded, entityType, id string, agg existence) (int64, error) {
	for _, r := range recs {
		agg.Apply(r.Event)
	}
	if !agg.Exists() {
		return 0, notFound(entityType, id)
	}
	return recs[len(recs)-1].Version, nil
}

// current is a stream's events for a reader that needs at least version
// since of it (an automation handling the event at that version): from
// the repository's cache when it holds that much, else read. since 0
// always reads. The cache may miss later events another process
// appended; a command decided on what the reader saw is checked by its
// append, as every command is.
func (h *Handler) current(ctx context.Context, stream string, since int64) ([]Recorded, error) {
	if since > 0 {
		recs, _, err := h.repo.Current(ctx, stream)
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 && recs[len(recs)-1].Version >= since {
			return recs, nil
		}
	}
	return h.repo.Load(ctx, stream, time.Time{})
}

// foldCurrent is fold of the current state, known to hold version since
// at least (see current).
func (h *Handler) foldCurrent(ctx context.Context, entityType, id string, since int64, agg existence) (int64, error) {
	recs, err := h.current(ctx, streamOf(entityType, id), since)
	if err != nil {
		return 0, err
	}
	return foldInto(recs, entityType, id, agg)
}

// CurrentLead returns a lead's current state and version, holding at
// least version since (0: read whatever the cache holds).
func (h *Handler) CurrentLead(ctx context.Context, id string, since int64) (aggregates.LeadView, int64, error) {
	l := aggregates.NewLead(id)
	v, err := h.foldCurrent(ctx, TypeLead, id, since, l)
	return l.View(), v, err
}

// CurrentAccount is CurrentLead for an account.
func (h *Handler) CurrentAccount(ctx context.Context, id string, since int64) (aggregates.AccountView, int64, error) {
	a := aggregates.NewAccount(id)
	v, err := h.foldCurrent(ctx, TypeAccount, id, since, a)
	return a.View(), v, err
}

// CurrentOpportunity is CurrentLead for an opportunity.
func (h *Handler) CurrentOpportunity(ctx context.Context, id string, since int64) (aggregates.OpportunityView, int64, error) {
	o := aggregates.NewOpportunity(id)
	v, err := h.foldCurrent(ctx, TypeOpportunity, id, since, o)
	return o.View(), v, err
}

// CurrentHistory is History holding at least version since (see
// CurrentLead).
func (h *Handler) CurrentHistory(ctx context.Context, entityType, id string, since int64) ([]Recorded, error) {
	recs, err := h.current(ctx, streamOf(entityType, id), since)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, notFound(entityType, id)
	}
	return recs, nil
}

// Lead returns a lead's state (as of asOf when not zero) and version. The
// state includes the lead's latest score from its score stream; the
// version is that of the lead's own stream.
func (h *Handler) Lead(ctx context.Context, id string, asOf time.Time) (aggregates.LeadView, int64, error) {
	l := aggregates.NewLead(id)
	v, err := h.fold(ctx, TypeLead, id, asOf, l)
	if err != nil {
		return l.View(), v, err
	}
	scores, err := h.repo.Load(ctx, streamOf(TypeLeadScore, id), asOf)
	if err != nil {
		return l.View(), v, err
	}
	for _, r := range scores {
		l.Apply(r.Event)
	}
	return l.View(), v, nil
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
