package aggregates

import "time"

// OpportunityQuoteAcceptedEvent records that a quote of the opportunity
// was accepted: its total is the opportunity's amount from now on (an
// OpportunityAmountChangedEvent accompanies it when the amount changes),
// and winning the deal turns that quote into an order.
type OpportunityQuoteAcceptedEvent struct {
	OpportunityID string    `json:"opportunity_id"`
	QuoteID       string    `json:"quote_id"`
	QuoteVersion  int       `json:"quote_version"`
	Amount        string    `json:"amount"`
	Currency      string    `json:"currency"`
	AcceptedAt    time.Time `json:"accepted_at"`
}

// TypeName implements Event.
func (OpportunityQuoteAcceptedEvent) TypeName() string { return "opportunity.quote_accepted" }

// SchemaVersion implements Event.
func (OpportunityQuoteAcceptedEvent) SchemaVersion() int { return 1 }

// AcceptedQuote names the quote version an opportunity's amount comes
// from.
type AcceptedQuote struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// AcceptQuote takes an accepted quote's total as the opportunity's amount.
// Errors: NotFound; Refused opportunity_closed.
func (o *Opportunity) AcceptQuote(quoteID string, version int, total, currency string, now time.Time) ([]Event, error) {
	if err := o.open(); err != nil {
		return nil, err
	}
	var evs []Event
	if currency != o.currency || !sameAmount(total, o.amount) {
		evs = append(evs, OpportunityAmountChangedEvent{OpportunityID: o.id, FromAmount: o.amount, FromCurrency: o.currency, Amount: total, Currency: currency})
	}
	return append(evs, OpportunityQuoteAcceptedEvent{OpportunityID: o.id, QuoteID: quoteID, QuoteVersion: version, Amount: total,
		Currency: currency, AcceptedAt: utc(now)}), nil
}

// MustBeOpen reports an error unless the opportunity exists and is open:
// NotFound or Refused opportunity_closed.
func (o *Opportunity) MustBeOpen() error { return o.open() }
