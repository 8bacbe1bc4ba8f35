package commands

import (
	"context"
	"strings"

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

// DecideApproval handles DecideApproval. An approval addressed to a user
// (the owner's manager) may be decided by that user or by a caller acting
// as no user; another user is ErrNotApprover.
func (h *Handler) DecideApproval(ctx context.Context, c *DecideApproval) error {
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		if approver := o.Approver(c.ApprovalID); approver != "" {
			if actor, ok := strings.CutPrefix(c.Metadata.Actor, "user:"); ok && actor != approver {
				return nil, ErrNotApprover
			}
		}
		if c.Approve {
			return o.Approve(c.ApprovalID, c.Note, u.now)
		}
		return o.Reject(c.ApprovalID, c.Reason, u.now)
	})
}
