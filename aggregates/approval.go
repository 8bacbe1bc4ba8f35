package aggregates

import "time"

// Approval statuses.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
)

// Approval is one approval an opportunity needs before it may be won.
type Approval struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Reason    string     `json:"reason,omitempty"`
	Note      string     `json:"note,omitempty"`
	Requested time.Time  `json:"requested_at"`
	DecidedAt *time.Time `json:"decided_at"`
	// ApproverID is the user the approval goes to (the owner's manager
	// when it was requested), if any.
	ApproverID string `json:"approver_id,omitempty"`
}

// OpportunityApprovalRequestedEvent records that an opportunity needs a
// manager's approval before it can be won (for example a large deal
// entering negotiation).
type OpportunityApprovalRequestedEvent struct {
	OpportunityID string    `json:"opportunity_id"`
	ApprovalID    string    `json:"approval_id"`
	Reason        string    `json:"reason"`
	RequestedAt   time.Time `json:"requested_at"`
	// ApproverID is the user who is to decide (the owner's manager), if
	// the owner has one.
	ApproverID string `json:"approver_id,omitempty"`
}

// OpportunityApprovalGrantedEvent records an approval.
type OpportunityApprovalGrantedEvent struct {
	OpportunityID string    `json:"opportunity_id"`
	ApprovalID    string    `json:"approval_id"`
	Note          string    `json:"note,omitempty"`
	DecidedAt     time.Time `json:"decided_at"`
}

// OpportunityApprovalRejectedEvent records a rejection.
type OpportunityApprovalRejectedEvent struct {
	OpportunityID string    `json:"opportunity_id"`
	ApprovalID    string    `json:"approval_id"`
	Reason        string    `json:"reason"`
	DecidedAt     time.Time `json:"decided_at"`
}

// TypeName implements Event.
func (OpportunityApprovalRequestedEvent) TypeName() string { return "opportunity.approval_requested" }

// TypeName implements Event.
func (OpportunityApprovalGrantedEvent) TypeName() string { return "opportunity.approval_granted" }

// TypeName implements Event.
func (OpportunityApprovalRejectedEvent) TypeName() string { return "opportunity.approval_rejected" }

// SchemaVersion implements Event.
func (OpportunityApprovalRequestedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OpportunityApprovalGrantedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OpportunityApprovalRejectedEvent) SchemaVersion() int { return 1 }

// ApprovalEvents lists a sample of every approval event type.
func ApprovalEvents() []Event {
	return []Event{OpportunityApprovalRequestedEvent{}, OpportunityApprovalGrantedEvent{}, OpportunityApprovalRejectedEvent{}}
}

// applyApproval folds approval events; it reports whether e was one.
func (o *Opportunity) applyApproval(e Event) bool {
	switch e := e.(type) {
	case OpportunityApprovalRequestedEvent:
		o.approvals = append(o.approvals, Approval{ID: e.ApprovalID, Status: ApprovalPending, Reason: e.Reason, Requested: e.RequestedAt,
			ApproverID: e.ApproverID})
	case OpportunityApprovalGrantedEvent:
		o.decide(e.ApprovalID, ApprovalApproved, e.Note, e.DecidedAt)
	case OpportunityApprovalRejectedEvent:
		o.decide(e.ApprovalID, ApprovalRejected, e.Reason, e.DecidedAt)
	default:
		return false
	}
	return true
}

func (o *Opportunity) decide(id, status, note string, at time.Time) {
	for i := range o.approvals {
		if o.approvals[i].ID == id {
			o.approvals[i].Status, o.approvals[i].Note, o.approvals[i].DecidedAt = status, note, &at
		}
	}
}

func (o *Opportunity) approval(id string) (Approval, bool) {
	for _, a := range o.approvals {
		if a.ID == id {
			return a, true
		}
	}
	return Approval{}, false
}

// blockingApproval returns the code refusing closed_won while an approval
// is pending or was rejected, with that approval's id, or "".
func (o *Opportunity) blockingApproval() (code, approvalID string) {
	for _, a := range o.approvals {
		switch a.Status {
		case ApprovalPending:
			return "approval_pending", a.ID
		case ApprovalRejected:
			return "approval_rejected", a.ID
		}
	}
	return "", ""
}

// RequestApproval asks for a manager's approval before the opportunity may
// be won. An opportunity with a pending approval gets no second one.
func (o *Opportunity) RequestApproval(approvalID, reason string, now time.Time) ([]Event, error) {
	return o.RequestApprovalFrom(approvalID, reason, "", now)
}

// RequestApprovalFrom is RequestApproval addressed to the user approverID
// ("" for any manager).
func (o *Opportunity) RequestApprovalFrom(approvalID, reason, approverID string, now time.Time) ([]Event, error) {
	if err := o.open(); err != nil {
		return nil, err
	}
	for _, a := range o.approvals {
		if a.Status == ApprovalPending || a.ID == approvalID {
			return nil, nil
		}
	}
	return []Event{OpportunityApprovalRequestedEvent{OpportunityID: o.id, ApprovalID: approvalID, Reason: reason, RequestedAt: utc(now),
		ApproverID: approverID}}, nil
}

// pendingApproval checks that approvalID names a pending approval.
func (o *Opportunity) pendingApproval(approvalID string) error {
	if !o.exists {
		return o.notFound()
	}
	a, ok := o.approval(approvalID)
	if !ok {
		return &Error{Kind: NotFound, Code: "not_found", Message: "opportunity " + o.id + " has no approval " + approvalID}
	}
	if a.Status != ApprovalPending {
		return refused("approval_not_pending", "approval %s is already %s", approvalID, a.Status)
	}
	return nil
}

// Approver is the user an approval goes to ("" for any manager, or when
// there is no such approval).
func (o *Opportunity) Approver(approvalID string) string {
	a, _ := o.approval(approvalID)
	return a.ApproverID
}

// Approve grants a pending approval.
func (o *Opportunity) Approve(approvalID, note string, now time.Time) ([]Event, error) {
	if err := o.pendingApproval(approvalID); err != nil {
		return nil, err
	}
	if err := optional("note", note, maxLongText); err != nil {
		return nil, err
	}
	return []Event{OpportunityApprovalGrantedEvent{OpportunityID: o.id, ApprovalID: approvalID, Note: note, DecidedAt: utc(now)}}, nil
}

// Reject refuses a pending approval; the opportunity cannot be won until a
// new approval is requested and granted.
func (o *Opportunity) Reject(approvalID, reason string, now time.Time) ([]Event, error) {
	if err := o.pendingApproval(approvalID); err != nil {
		return nil, err
	}
	if err := requiredLong("reason", reason); err != nil {
		return nil, err
	}
	return []Event{OpportunityApprovalRejectedEvent{OpportunityID: o.id, ApprovalID: approvalID, Reason: reason, DecidedAt: utc(now)}}, nil
}

// Approvals returns the opportunity's approvals, oldest first (never nil).
func (o *Opportunity) Approvals() []Approval {
	out := make([]Approval, len(o.approvals))
	copy(out, o.approvals)
	return out
}
