package commands

import (
	"context"

	"crm/aggregates"
)

// RecordCampaignCost sets a campaign's actual cost to date.
type RecordCampaignCost struct {
	Envelope
	CampaignID, ActualCost, Currency, Note string
}

// RecordCampaignCost handles RecordCampaignCost.
func (h *Handler) RecordCampaignCost(ctx context.Context, c *RecordCampaignCost) error {
	return existingCommand(ctx, h, &c.Envelope, TypeCampaign, c.CampaignID, aggregates.NewCampaign,
		func(u *unit, a *aggregates.Campaign) ([]aggregates.Event, error) {
			return a.RecordCost(c.ActualCost, c.Currency, c.Note, u.now)
		})
}
