package aggregates

import (
	"errors"
	"testing"
	"time"
)

var autoT0 = time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)

func openedOpp(amount string) OpportunityOpenedEvent {
	return OpportunityOpenedEvent{OpportunityID: "O1", AccountID: "A1", Name: "Deal", Amount: amount, Currency: "EUR",
		ExpectedCloseDate: "2027-03-31", Stage: StageProspecting, OpenedAt: autoT0}
}

func TestRequireApproval(t *testing.T) {
	negotiate := OpportunityStageChangedEvent{OpportunityID: "O1", From: StageProspecting, To: StageNegotiation, ChangedAt: autoT0}
	requested := OpportunityApprovalRequestedEvent{OpportunityID: "O1", ApprovalID: "P1", RequestedAt: autoT0}
	granted := OpportunityApprovalGrantedEvent{OpportunityID: "O1", ApprovalID: "P1", DecidedAt: autoT0}
	for _, tt := range []struct {
		name    string
		history []Event
		refused bool
	}{
		{"above, negotiated, no approval yet", []Event{openedOpp("600000.00"), negotiate}, true},
		{"above, negotiated, pending", []Event{openedOpp("600000.00"), negotiate, requested}, true},
		{"above, negotiated, approved", []Event{openedOpp("600000.00"), negotiate, requested, granted}, false},
		{"at the threshold", []Event{openedOpp("500000.00"), negotiate}, false},
		{"above, never negotiated", []Event{openedOpp("600000.00")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOpportunity("O1")
			for _, e := range tt.history {
				o.Apply(e)
			}
			err := o.RequireApproval("500000.00", "EUR")
			var de *Error
			if tt.refused != (err != nil) || (err != nil && (!errors.As(err, &de) || de.Code != "approval_pending")) {
				t.Fatalf("err %v", err)
			}
			if o.RequireApproval("500000.00", "USD") != nil {
				t.Fatal("another currency is not compared")
			}
		})
	}
}

func TestBreachSLAOncePerTarget(t *testing.T) {
	tk := NewTicket("T1")
	evs, _ := tk.Open(OpenTicket{Subject: "s", Priority: "urgent", Channel: "web"}, DefaultSLA(), autoT0)
	tk.Apply(evs[0])
	if evs, err := tk.BreachSLA(SLAFirstResponse, autoT0.Add(time.Hour)); err != nil || len(evs) != 0 {
		t.Fatalf("at the due time: %v %v", evs, err)
	}
	evs, err := tk.BreachSLA(SLAFirstResponse, autoT0.Add(time.Hour+time.Millisecond))
	if err != nil || len(evs) != 2 {
		t.Fatalf("after the due time: %v %v", evs, err)
	}
	if esc, ok := evs[1].(TicketEscalatedEvent); !ok || esc.Level != 1 {
		t.Fatalf("escalation %#v", evs[1])
	}
	for _, e := range evs {
		tk.Apply(e)
	}
	if again, _ := tk.BreachSLA(SLAFirstResponse, autoT0.Add(2*time.Hour)); len(again) != 0 {
		t.Fatalf("breached twice: %v", again)
	}
	if !tk.View().FirstResponseBreached {
		t.Fatal("view does not show the breach")
	}
	if _, err := tk.BreachSLA("lunch", autoT0); err == nil {
		t.Fatal("unknown target accepted")
	}
}

func TestSurveyOncePerClosing(t *testing.T) {
	tk := NewTicket("T1")
	for _, e := range []Event{
		TicketOpenedEvent{TicketID: "T1", Priority: "low", OpenedAt: autoT0, FirstResponseDue: autoT0, ResolutionDue: autoT0},
		TicketResolvedEvent{TicketID: "T1", ResolvedAt: autoT0}, TicketClosedEvent{TicketID: "T1", ClosedAt: autoT0},
	} {
		tk.Apply(e)
	}
	evs, err := tk.RequestSurvey(autoT0.Add(24 * time.Hour))
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %v", evs, err)
	}
	tk.Apply(evs[0])
	if again, _ := tk.RequestSurvey(autoT0); len(again) != 0 {
		t.Fatal("asked twice")
	}
	tk.Apply(TicketReopenedEvent{TicketID: "T1", ReopenedAt: autoT0})
	if open, _ := tk.RequestSurvey(autoT0); len(open) != 0 {
		t.Fatal("asked while open")
	}
}

func TestRemindOverdueOncePerDate(t *testing.T) {
	o := NewOpportunity("O1")
	o.Apply(openedOpp("10.00"))
	due := OverdueAt("2027-03-31")
	if evs, _ := o.RemindOverdue(due.Add(-time.Second)); len(evs) != 0 {
		t.Fatal("reminded early")
	}
	evs, err := o.RemindOverdue(due)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %v", evs, err)
	}
	o.Apply(evs[0])
	if again, _ := o.RemindOverdue(due.Add(time.Hour)); len(again) != 0 {
		t.Fatal("reminded twice")
	}
	o.Apply(OpportunityCloseDateChangedEvent{OpportunityID: "O1", From: "2027-03-31", To: "2027-04-30"})
	if evs, _ := o.RemindOverdue(OverdueAt("2027-04-30")); len(evs) != 1 {
		t.Fatal("new date not reminded")
	}
}
