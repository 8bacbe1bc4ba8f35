package commands

import (
	"context"

	"crm/aggregates"
)

// SetTarget sets an owner's sales target for a month or a quarter.
type SetTarget struct {
	Envelope
	OwnerID, Period, Amount, Currency string
}

// SetTarget handles SetTarget; Result.ID is the forecast's id
// (ForecastID).
func (h *Handler) SetTarget(ctx context.Context, c *SetTarget) error {
	id := ForecastID(c.OwnerID, c.Period)
	return existingCommand(ctx, h, &c.Envelope, TypeForecast, id, aggregates.NewForecast,
		func(u *unit, f *aggregates.Forecast) ([]aggregates.Event, error) {
			u.created = !f.Exists()
			return f.SetTarget(c.OwnerID, c.Period, c.Amount, c.Currency, u.now)
		})
}
