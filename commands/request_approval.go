package commands

import (
	"context"

	"crm/aggregates"
)

// RequestApproval asks for a manager's approval before an opportunity may
// be won (the approval automation issues it).
type RequestApproval struct {
	Envelope
	OpportunityID, Reason string
	// ApprovalID, when set, is the new approval's id: an automation derives
	// it from the triggering event, so a redelivery requests nothing twice.
	ApprovalID string
}

// RequestApproval handles RequestApproval; Result.Extra["approval_id"] is
// the new approval's id. An opportunity with a pending approval gets no
// second one. The approval goes to the opportunity owner's manager when
// the owner has one.
func (h *Handler) RequestApproval(ctx context.Context, c *RequestApproval) error {
	approvalID := c.ApprovalID
	if approvalID == "" {
		approvalID = h.newID()
	}
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		approver, err := h.ManagerOf(ctx, o.Owner())
		if err != nil {
			return nil, err
		}
		evs, err := o.RequestApprovalFrom(approvalID, c.Reason, approver, u.now)
		if len(evs) > 0 {
			u.extra["approval_id"] = approvalID
		}
		return evs, err
	})
}
