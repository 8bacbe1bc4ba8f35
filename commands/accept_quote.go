package commands

import (
	"context"

	"crm/aggregates"
)

// AcceptQuote records the customer's acceptance of a quote's sent version
// and takes its total as the opportunity's amount, in one append.
type AcceptQuote struct {
	Envelope
	QuoteID string
}

// AcceptQuote handles AcceptQuote.
func (h *Handler) AcceptQuote(ctx context.Context, c *AcceptQuote) error {
	stream := streamOf(TypeQuote, c.QuoteID)
	return h.run(ctx, &c.Envelope, c.QuoteID, stream, func(u *unit) error {
		q := aggregates.NewQuote(c.QuoteID)
		if _, err := u.load(stream, q); err != nil {
			return err
		}
		evs, err := q.Accept(u.now)
		if err != nil {
			return err
		}
		accepted := evs[0].(aggregates.QuoteAcceptedEvent)
		oppStream := streamOf(TypeOpportunity, q.OpportunityID())
		o := aggregates.NewOpportunity(q.OpportunityID())
		if _, err := u.load(oppStream, o); err != nil {
			return err
		}
		oppEvs, err := o.AcceptQuote(c.QuoteID, accepted.Version, accepted.Total, accepted.Currency, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.emit(oppStream, oppEvs)
		return nil
	})
}
