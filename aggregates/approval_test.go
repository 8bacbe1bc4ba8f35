package aggregates

import "testing"

func TestOpportunityApprovals(t *testing.T) {
	requested := OpportunityApprovalRequestedEvent{OpportunityID: "O1", ApprovalID: "P1", Reason: "above threshold", RequestedAt: t0}
	granted := OpportunityApprovalGrantedEvent{OpportunityID: "O1", ApprovalID: "P1", Note: "ok", DecidedAt: t0}
	rejected := OpportunityApprovalRejectedEvent{OpportunityID: "O1", ApprovalID: "P1", Reason: "margin", DecidedAt: t0}
	win := func(o *Opportunity) ([]Event, error) { return o.ChangeStage(StageClosedWon, "", "", t0) }
	tests := []struct {
		name    string
		history []Event
		when    func(*Opportunity) ([]Event, error)
		want    outcome
	}{
		{"request", []Event{oppOpened}, func(o *Opportunity) ([]Event, error) { return o.RequestApproval("P1", "above threshold", t0) },
			expectEvents(requested)},
		{"request while one is pending", []Event{oppOpened, requested},
			func(o *Opportunity) ([]Event, error) { return o.RequestApproval("P2", "again", t0) }, expectEvents()},
		{"request on a missing deal", nil, func(o *Opportunity) ([]Event, error) { return o.RequestApproval("P1", "x", t0) }, expectNotFound()},
		{"win while pending", []Event{oppOpened, requested}, win, expectRefused("approval_pending")},
		{"win after rejection", []Event{oppOpened, requested, rejected}, win, expectRefused("approval_rejected")},
		{"win after approval", []Event{oppOpened, requested, granted}, win,
			expectEvents(OpportunityStageChangedEvent{OpportunityID: "O1", From: StageProspecting, To: StageClosedWon,
				Probability: 100, ForecastCategory: ForecastClosed, ChangedAt: t0})},
		{"approve", []Event{oppOpened, requested}, func(o *Opportunity) ([]Event, error) { return o.Approve("P1", "ok", t0) },
			expectEvents(granted)},
		{"approve twice", []Event{oppOpened, requested, granted}, func(o *Opportunity) ([]Event, error) { return o.Approve("P1", "", t0) },
			expectRefused("approval_not_pending")},
		{"approve an unknown approval", []Event{oppOpened}, func(o *Opportunity) ([]Event, error) { return o.Approve("P9", "", t0) },
			expectNotFound()},
		{"reject", []Event{oppOpened, requested}, func(o *Opportunity) ([]Event, error) { return o.Reject("P1", "margin", t0) },
			expectEvents(rejected)},
		{"reject without reason", []Event{oppOpened, requested}, func(o *Opportunity) ([]Event, error) { return o.Reject("P1", "", t0) },
			expectInvalid("reason")},
		{"reject an approved one", []Event{oppOpened, requested, granted}, func(o *Opportunity) ([]Event, error) { return o.Reject("P1", "x", t0) },
			expectRefused("approval_not_pending")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewOpportunity("O1"), tt.history...))
			check(t, got, err, tt.want)
		})
	}
	v := given(NewOpportunity("O1"), oppOpened, requested, rejected).View()
	if len(v.Approvals) != 1 || v.Approvals[0].Status != ApprovalRejected || v.Approvals[0].DecidedAt == nil {
		t.Fatalf("approvals in view: %+v", v.Approvals)
	}
}
