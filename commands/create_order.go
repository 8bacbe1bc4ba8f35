package commands

import (
	"context"
	"time"

	"crm/aggregates"
)

// CreateOrder turns a won opportunity's accepted quote into an order with
// its payment plan (the order automation issues it on closed_won).
type CreateOrder struct {
	Envelope
	// OrderID is derived from the opportunity, so a won deal has one order
	// however often the command is delivered.
	OrderID, OpportunityID string
}

// CreateOrder handles CreateOrder. An order that exists already changes
// nothing. Errors: Refused opportunity_not_won, no_accepted_quote.
func (h *Handler) CreateOrder(ctx context.Context, c *CreateOrder) error {
	stream := streamOf(TypeOrder, c.OrderID)
	return h.run(ctx, &c.Envelope, c.OrderID, stream, func(u *unit) error {
		ord := aggregates.NewOrder(c.OrderID)
		if _, err := u.load(stream, ord); err != nil {
			return err
		}
		if ord.Exists() {
			return nil
		}
		o := aggregates.NewOpportunity(c.OpportunityID)
		if _, err := h.fold(ctx, TypeOpportunity, c.OpportunityID, time.Time{}, o); err != nil {
			return err
		}
		view := o.View()
		if view.Stage != aggregates.StageClosedWon || view.ClosedAt == nil {
			return &aggregates.Error{Kind: aggregates.Refused, Code: "opportunity_not_won", Message: "opportunity " + c.OpportunityID + " is not won"}
		}
		if view.AcceptedQuote == nil {
			return &aggregates.Error{Kind: aggregates.Refused, Code: "no_accepted_quote", Message: "opportunity " + c.OpportunityID + " has no accepted quote"}
		}
		q := aggregates.NewQuote(view.AcceptedQuote.ID)
		if _, err := h.fold(ctx, TypeQuote, view.AcceptedQuote.ID, time.Time{}, q); err != nil {
			return err
		}
		content, ok := q.Accepted()
		if !ok {
			return &aggregates.Error{Kind: aggregates.Refused, Code: "no_accepted_quote", Message: "quote " + view.AcceptedQuote.ID + " is not accepted"}
		}
		evs, err := ord.Create(aggregates.NewOrderInput{OpportunityID: c.OpportunityID, AccountID: view.AccountID, OwnerID: view.OwnerID,
			QuoteID: view.AcceptedQuote.ID, Quote: content, WonOn: view.ClosedAt.UTC().Format(time.DateOnly)}, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = len(evs) > 0
		return nil
	})
}
