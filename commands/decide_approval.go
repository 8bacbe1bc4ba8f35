package commands

import (
	"context"

	"crm/aggregates"
)

// DecideApproval approves or rejects a pending approval.
type DecideApproval struct {
	Envelope
	OpportunityID, ApprovalID string
	// Approve grants the approval; otherwise it is rejected with Reason.
	Approve bool
	// Note (on approval) or Reason (on rejection).
	Note, Reason string
}

// DecideApproval handles DecideApproval.
func (h *Handler) DecideApproval(ctx context.Context, c *DecideApproval) error {
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		if c.Approve {
			return o.Approve(c.ApprovalID, c.Note, u.now)
		}
		return o.Reject(c.ApprovalID, c.Reason, u.now)
	})
}
