package commands

import (
	"context"
	"time"

	"github.com/google/uuid"

	"crm/aggregates"
)

// Entity types of lead to cash, as used in stream names and in the API.
const (
	TypeProduct   = "product"
	TypePriceBook = "price_book"
	TypeQuote     = "quote"
	TypeOrder     = "order"
	TypeForecast  = "forecast"
)

// ForecastID is the id of the stream holding one owner's target and
// forecast adjustments for one period.
func ForecastID(ownerID, period string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("crm:forecast:"+ownerID+"|"+period)).String()
}

// discountThreshold returns the discount in percent above which a quote
// needs approval.
func (h *Handler) discountThreshold() string {
	if h.quoteThreshold == "" {
		return aggregates.DefaultDiscountThreshold
	}
	return h.quoteThreshold
}

// Product returns a product's state and version.
func (h *Handler) Product(ctx context.Context, id string, asOf time.Time) (aggregates.ProductView, int64, error) {
	p := aggregates.NewProduct(id)
	v, err := h.fold(ctx, TypeProduct, id, asOf, p)
	return p.View(), v, err
}

// PriceBook returns a price book's state and version.
func (h *Handler) PriceBook(ctx context.Context, id string, asOf time.Time) (aggregates.PriceBookView, int64, error) {
	b := aggregates.NewPriceBook(id)
	v, err := h.fold(ctx, TypePriceBook, id, asOf, b)
	return b.View(), v, err
}

// Quote returns a quote with every version, and its version.
func (h *Handler) Quote(ctx context.Context, id string, asOf time.Time) (aggregates.QuoteView, int64, error) {
	q := aggregates.NewQuote(id)
	v, err := h.fold(ctx, TypeQuote, id, asOf, q)
	return q.View(), v, err
}

// Order returns an order's state and version.
func (h *Handler) Order(ctx context.Context, id string, asOf time.Time) (aggregates.OrderView, int64, error) {
	o := aggregates.NewOrder(id)
	v, err := h.fold(ctx, TypeOrder, id, asOf, o)
	return o.View(), v, err
}

// CurrentOrder is CurrentLead for an order.
func (h *Handler) CurrentOrder(ctx context.Context, id string, since int64) (aggregates.OrderView, int64, error) {
	o := aggregates.NewOrder(id)
	v, err := h.foldCurrent(ctx, TypeOrder, id, since, o)
	return o.View(), v, err
}

// loadInto folds a stream the command reads but does not write, without
// tracking its version; a missing entity is an Invalid error naming
// field.
func (h *Handler) loadInto(ctx context.Context, field, entityType, id string, agg existence) error {
	recs, err := h.repo.Load(ctx, streamOf(entityType, id), time.Time{})
	if err != nil {
		return err
	}
	for _, r := range recs {
		agg.Apply(r.Event)
	}
	if !agg.Exists() {
		return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: field, Message: "no " + entityType + " " + id}
	}
	return nil
}

// OrderID is the id of a won opportunity's order: one per opportunity,
// however often it is won or the event delivered.
func OrderID(opportunityID string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("crm:order:"+opportunityID)).String()
}
