package commands

import (
	"context"
	"fmt"
	"time"

	"crm/aggregates"
)

// OpenOpportunity opens an opportunity on an existing account.
type OpenOpportunity struct {
	Envelope
	aggregates.OpenOpportunity
}

// OpenOpportunity handles OpenOpportunity. An unknown account is an
// Invalid error naming account_id.
func (h *Handler) OpenOpportunity(ctx context.Context, c *OpenOpportunity) error {
	id := h.newID()
	stream := streamOf(TypeOpportunity, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		if err := h.mustExist(ctx, "account_id", TypeAccount, c.AccountID); err != nil {
			return err
		}
		o := aggregates.NewOpportunity(id)
		if err := u.loadNew(stream, o); err != nil {
			return err
		}
		evs, err := o.Open(c.OpenOpportunity, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		return nil
	})
}

// mustExist checks that a referenced entity exists; a missing one is an
// Invalid error naming field.
func (h *Handler) mustExist(ctx context.Context, field, entityType, id string) error {
	if id == "" {
		return nil
	}
	recs, err := h.repo.Load(ctx, streamOf(entityType, id), time.Time{})
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: field, Message: "no " + entityType + " " + id}
	}
	return nil
}

// opportunityCommand loads an opportunity, runs act on it and appends what
// it decides.
func (h *Handler) opportunityCommand(ctx context.Context, env *Envelope, id string, act func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error)) error {
	stream := streamOf(TypeOpportunity, id)
	return h.run(ctx, env, id, stream, func(u *unit) error {
		o := aggregates.NewOpportunity(id)
		if _, err := u.load(stream, o); err != nil {
			return err
		}
		evs, err := act(u, o)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		return nil
	})
}

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

// ChangeAmount changes an opportunity's amount and currency.
type ChangeAmount struct {
	Envelope
	OpportunityID, Amount, Currency string
}

// ChangeAmount handles ChangeAmount.
func (h *Handler) ChangeAmount(ctx context.Context, c *ChangeAmount) error {
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(_ *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		return o.ChangeAmount(c.Amount, c.Currency)
	})
}

// ChangeCloseDate changes an opportunity's expected close date.
type ChangeCloseDate struct {
	Envelope
	OpportunityID, ExpectedCloseDate string
}

// ChangeCloseDate handles ChangeCloseDate.
func (h *Handler) ChangeCloseDate(ctx context.Context, c *ChangeCloseDate) error {
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(_ *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		return o.ChangeCloseDate(c.ExpectedCloseDate)
	})
}

// ReopenOpportunity reopens a closed opportunity.
type ReopenOpportunity struct {
	Envelope
	OpportunityID, Reason string
}

// ReopenOpportunity handles ReopenOpportunity.
func (h *Handler) ReopenOpportunity(ctx context.Context, c *ReopenOpportunity) error {
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		return o.Reopen(c.Reason, u.now)
	})
}

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
// second one.
func (h *Handler) RequestApproval(ctx context.Context, c *RequestApproval) error {
	approvalID := c.ApprovalID
	if approvalID == "" {
		approvalID = h.newID()
	}
	return h.opportunityCommand(ctx, &c.Envelope, c.OpportunityID, func(u *unit, o *aggregates.Opportunity) ([]aggregates.Event, error) {
		evs, err := o.RequestApproval(approvalID, c.Reason, u.now)
		if len(evs) > 0 {
			u.extra["approval_id"] = approvalID
		}
		return evs, err
	})
}

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
