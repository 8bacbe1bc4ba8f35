package commands

import (
	"context"
	"fmt"

	"crm/aggregates"
)

// QuoteLine is a line a client asks for: a product, a quantity and a
// discount in percent; the unit price comes from the price book.
type QuoteLine struct {
	ProductID, Quantity, DiscountPercent string
}

// QuoteInput is the content of a quote version as a client sends it.
type QuoteInput struct {
	PriceBookID, Currency, ValidUntil string
	Lines                             []QuoteLine
	PaymentPlan                       aggregates.PaymentPlan
}

// DraftQuote drafts a quote (its version 1) on an open opportunity.
type DraftQuote struct {
	Envelope
	OpportunityID string
	QuoteInput
}

// DraftQuote handles DraftQuote; a discount above the threshold requests
// an approval, whose id is Result.Extra["approval_id"].
func (h *Handler) DraftQuote(ctx context.Context, c *DraftQuote) error {
	id, approvalID := h.newID(), h.newID()
	stream := streamOf(TypeQuote, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		o := aggregates.NewOpportunity(c.OpportunityID)
		if _, err := u.load(streamOf(TypeOpportunity, c.OpportunityID), o); err != nil {
			return err
		}
		if err := o.MustBeOpen(); err != nil {
			return err
		}
		draft, err := h.priceLines(ctx, c.QuoteInput)
		if err != nil {
			return err
		}
		q := aggregates.NewQuote(id)
		if err := u.loadNew(stream, q); err != nil {
			return err
		}
		evs, err := q.Draft(c.OpportunityID, draft, h.discountThreshold(), approvalID, u.now)
		if err != nil {
			return err
		}
		if len(evs) > 1 {
			u.extra["approval_id"] = approvalID
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}

// priceLines looks the lines' products and prices up: an unknown or
// inactive product, or one without a price in the currency, is an
// Invalid error naming the line.
func (h *Handler) priceLines(ctx context.Context, in QuoteInput) (aggregates.QuoteDraft, error) {
	d := aggregates.QuoteDraft{PriceBookID: in.PriceBookID, Currency: in.Currency, ValidUntil: in.ValidUntil, PaymentPlan: in.PaymentPlan}
	if in.PriceBookID == "" {
		return d, &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: "price_book_id", Message: "is required"}
	}
	book := aggregates.NewPriceBook(in.PriceBookID)
	if err := h.loadInto(ctx, "price_book_id", TypePriceBook, in.PriceBookID, book); err != nil {
		return d, err
	}
	for i, l := range in.Lines {
		field := fmt.Sprintf("lines[%d].product_id", i)
		p := aggregates.NewProduct(l.ProductID)
		if err := h.loadInto(ctx, field, TypeProduct, l.ProductID, p); err != nil {
			return d, err
		}
		if !p.Active() {
			return d, &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: field, Message: "product " + l.ProductID + " is inactive"}
		}
		unit, ok := book.PriceOf(l.ProductID, in.Currency)
		if !ok {
			return d, &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: field,
				Message: fmt.Sprintf("product %s has no %s price in price book %s", l.ProductID, in.Currency, in.PriceBookID)}
		}
		v := p.View()
		d.Lines = append(d.Lines, aggregates.QuoteLineInput{ProductID: l.ProductID, SKU: v.SKU, Name: v.Name, Quantity: l.Quantity,
			UnitPrice: unit, DiscountPercent: l.DiscountPercent})
	}
	return d, nil
}
