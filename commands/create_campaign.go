package commands

import (
	"context"
	"time"

	"crm/aggregates"
)

// TypeCampaign is the entity type of campaigns.
const TypeCampaign = "campaign"

// CreateCampaign creates a marketing campaign.
type CreateCampaign struct {
	Envelope
	aggregates.CreateCampaign
}

// CreateCampaign handles CreateCampaign.
func (h *Handler) CreateCampaign(ctx context.Context, c *CreateCampaign) error {
	id := h.newID()
	stream := streamOf(TypeCampaign, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		a := aggregates.NewCampaign(id)
		if err := u.loadNew(stream, a); err != nil {
			return err
		}
		evs, err := a.Create(c.CreateCampaign, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}

// Campaign returns a campaign's current state (as of asOf when it is not
// zero) and its version.
func (h *Handler) Campaign(ctx context.Context, id string, asOf time.Time) (aggregates.CampaignView, int64, error) {
	a := aggregates.NewCampaign(id)
	v, err := h.fold(ctx, TypeCampaign, id, asOf, a)
	return a.View(), v, err
}
