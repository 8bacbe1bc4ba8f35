package commands

import (
	"context"

	"crm/aggregates"
)

// ChangeCampaignStatus moves a campaign to a new status.
type ChangeCampaignStatus struct {
	Envelope
	CampaignID, Status string
}

// ChangeCampaignStatus handles ChangeCampaignStatus.
func (h *Handler) ChangeCampaignStatus(ctx context.Context, c *ChangeCampaignStatus) error {
	return existingCommand(ctx, h, &c.Envelope, TypeCampaign, c.CampaignID, aggregates.NewCampaign,
		func(_ *unit, a *aggregates.Campaign) ([]aggregates.Event, error) {
			return a.ChangeStatus(c.Status)
		})
}
