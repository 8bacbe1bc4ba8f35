package api

import (
	"context"
	"time"

	"crm/aggregates"
	"crm/commands"
	"crm/readmodels"
)

// CashCommands are the lead-to-cash use cases: catalog, quotes, orders,
// targets and forecast adjustments, and their by-id reads.
type CashCommands interface {
	CreateProduct(ctx context.Context, c *commands.CreateProduct) error
	SetProductActive(ctx context.Context, c *commands.SetProductActive) error
	CreatePriceBook(ctx context.Context, c *commands.CreatePriceBook) error
	SetPrice(ctx context.Context, c *commands.SetPrice) error
	DraftQuote(ctx context.Context, c *commands.DraftQuote) error
	ReviseQuote(ctx context.Context, c *commands.ReviseQuote) error
	DecideQuoteApproval(ctx context.Context, c *commands.DecideQuoteApproval) error
	SendQuote(ctx context.Context, c *commands.SendQuote) error
	AcceptQuote(ctx context.Context, c *commands.AcceptQuote) error
	RecordPayment(ctx context.Context, c *commands.RecordPayment) error
	CancelOrder(ctx context.Context, c *commands.CancelOrder) error
	SetTarget(ctx context.Context, c *commands.SetTarget) error
	AdjustForecast(ctx context.Context, c *commands.AdjustForecast) error

	Product(ctx context.Context, id string, asOf time.Time) (aggregates.ProductView, int64, error)
	PriceBook(ctx context.Context, id string, asOf time.Time) (aggregates.PriceBookView, int64, error)
	Quote(ctx context.Context, id string, asOf time.Time) (aggregates.QuoteView, int64, error)
	Order(ctx context.Context, id string, asOf time.Time) (aggregates.OrderView, int64, error)
}

// CashReports are the lead-to-cash reports, live (asOf zero) or as the
// books stood at asOf, computed from the log. A bad argument wraps
// readmodels.ErrInvalid.
type CashReports interface {
	Forecast(ctx context.Context, f readmodels.ForecastFilter, asOf time.Time) (readmodels.Forecast, error)
	// Receivables ages the books on the day of on.
	Receivables(ctx context.Context, on, asOf time.Time) (readmodels.Receivables, error)
	// PipelineAsOf is the open pipeline as it stood at asOf.
	PipelineAsOf(ctx context.Context, asOf time.Time) (readmodels.Pipeline, error)
}

// Permissions of lead to cash.
const (
	// permCatalog is managing products and price books (manager, admin).
	permCatalog = "catalog:write"
	// permForecast is setting targets and adjusting forecasts (manager,
	// admin).
	permForecast = "forecast:write"
)

// errNoCashReports answers the lead-to-cash reports of a router built
// without them.
var errNoCashReports = sentinel(kindUnavailable, "reports_unavailable", "the lead-to-cash reports are not configured on this server")
