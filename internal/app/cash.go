package app

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/projections"
	"crm/readmodels"
)

// cashReports answers api.CashReports: live from the read models, or as
// of a past moment by replaying the log into a scratch schema.
type cashReports struct {
	q      *readmodels.Queries
	engine *projections.Engine
}

// Forecast implements api.CashReports.
func (c cashReports) Forecast(ctx context.Context, f readmodels.ForecastFilter, asOf time.Time) (readmodels.Forecast, error) {
	if asOf.IsZero() {
		return c.q.Forecast(ctx, f)
	}
	var out readmodels.Forecast
	err := c.engine.AsOf(ctx, readmodels.CashProjector, asOf, func(ctx context.Context, tx pgx.Tx, schema string) error {
		var err error
		out, err = readmodels.ForecastIn(ctx, tx, schema, f)
		return err
	})
	return out, err
}

// Receivables implements api.CashReports.
func (c cashReports) Receivables(ctx context.Context, on, asOf time.Time) (readmodels.Receivables, error) {
	if asOf.IsZero() {
		return c.q.Receivables(ctx, on)
	}
	var out readmodels.Receivables
	err := c.engine.AsOf(ctx, readmodels.CashProjector, asOf, func(ctx context.Context, tx pgx.Tx, schema string) error {
		var err error
		out, err = readmodels.ReceivablesIn(ctx, tx, schema, on)
		return err
	})
	return out, err
}

// PipelineAsOf implements api.CashReports.
func (c cashReports) PipelineAsOf(ctx context.Context, asOf time.Time) (readmodels.Pipeline, error) {
	var out readmodels.Pipeline
	err := c.engine.AsOf(ctx, readmodels.ReportsProjector, asOf, func(ctx context.Context, tx pgx.Tx, schema string) error {
		var err error
		out, err = readmodels.PipelineIn(ctx, tx, schema)
		return err
	})
	return out, err
}
