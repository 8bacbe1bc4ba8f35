package commands

import (
	"context"
	"fmt"

	"crm/aggregates"
)

// ChangeStage moves an opportunity to another stage.
type ChangeStage struct {
	Envelope
	OpportunityID, Stage, Note, Reason string
}

// ChangeStage handles ChangeStage.
func (h *Handler) ChangeStage(ctx context.Context, c *ChangeStage) error {
	var threshold, currency string
	if c.Stage == aggregates.StageClosedWon && h.approvals != nil {
		var err error
		if threshold, currency, err = h.approvals(ctx); err != nil {
			return fmt.Errorf("approval policy: %w", err)
		}
	}
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		evs, err := o.ChangeStage(c.Stage, c.Note, c.Reason, u.now)
		if err == nil && len(evs) > 0 && threshold != "" {
			err = o.RequireApproval(threshold, currency)
		}
		if err != nil {
			return nil, err
		}
		return evs, nil
	})
}
