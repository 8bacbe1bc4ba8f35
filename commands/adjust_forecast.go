package commands

import (
	"context"

	"crm/aggregates"
)

// AdjustForecast records a manager's forecast for an owner and period,
// with a reason.
type AdjustForecast struct {
	Envelope
	OwnerID, Period, Amount, Currency, Reason string
}

// AdjustForecast handles AdjustForecast; Result.ID is the forecast's id.
func (h *Handler) AdjustForecast(ctx context.Context, c *AdjustForecast) error {
	id := ForecastID(c.OwnerID, c.Period)
	return existingCommand(ctx, h, &c.Envelope, TypeForecast, id, aggregates.NewForecast,
		func(u *unit, f *aggregates.Forecast) ([]aggregates.Event, error) {
			return f.Adjust(c.OwnerID, c.Period, c.Amount, c.Currency, c.Reason, u.now)
		})
}
