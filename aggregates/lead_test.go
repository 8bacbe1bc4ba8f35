package aggregates

import (
	"strings"
	"testing"
)

var captured = LeadCapturedEvent{LeadID: "L1", Name: "Ada Lovelace", Company: "Engines Ltd", Email: "ada@example.com",
	Source: "webinar", Region: "EMEA", CapturedAt: t0}

func TestLeadCapture(t *testing.T) {
	valid := CaptureLead{Name: "Ada Lovelace", Company: "Engines Ltd", Email: " Ada@Example.com ", Source: "webinar", Region: "EMEA"}
	tests := []struct {
		name    string
		history []Event
		cmd     func(CaptureLead) CaptureLead
		want    outcome
	}{
		{"captures with a normalised email", nil, func(c CaptureLead) CaptureLead { return c }, expectEvents(captured)},
		{"twice", []Event{captured}, func(c CaptureLead) CaptureLead { return c }, expectRefused("lead_exists")},
		{"no name", nil, func(c CaptureLead) CaptureLead { c.Name = " "; return c }, expectInvalid("name")},
		{"no company", nil, func(c CaptureLead) CaptureLead { c.Company = ""; return c }, expectInvalid("company")},
		{"no source", nil, func(c CaptureLead) CaptureLead { c.Source = ""; return c }, expectInvalid("source")},
		{"no email", nil, func(c CaptureLead) CaptureLead { c.Email = ""; return c }, expectInvalid("email")},
		{"bad email", nil, func(c CaptureLead) CaptureLead { c.Email = "ada@"; return c }, expectInvalid("email")},
		{"email with a display name", nil, func(c CaptureLead) CaptureLead { c.Email = "Ada <ada@example.com>"; return c }, expectInvalid("email")},
		{"email without a domain dot", nil, func(c CaptureLead) CaptureLead { c.Email = "ada@localhost"; return c }, expectInvalid("email")},
		{"long phone", nil, func(c CaptureLead) CaptureLead { c.Phone = strings.Repeat("9", 201); return c }, expectInvalid("phone")},
		{"NUL in campaign", nil, func(c CaptureLead) CaptureLead { c.Campaign = "a\x00b"; return c }, expectInvalid("campaign")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := given(NewLead("L1"), tt.history...).Capture(tt.cmd(valid), t0)
			check(t, got, err, tt.want)
		})
	}
}

func TestLeadCommands(t *testing.T) {
	contacted := LeadContactAttemptedEvent{LeadID: "L1", Channel: "call", Outcome: "reached", AttemptedAt: t0, AttemptNumber: 1}
	qualified := LeadQualifiedEvent{LeadID: "L1", PreviousStatus: LeadContacted}
	disqualified := LeadDisqualifiedEvent{LeadID: "L1", Reason: "no budget", PreviousStatus: LeadCaptured}
	converted := LeadConvertedEvent{LeadID: "L1", AccountID: "A1", NewAccount: true, ContactID: "C1", ConvertedAt: t0}
	tests := []struct {
		name    string
		history []Event
		when    func(*Lead) ([]Event, error)
		want    outcome
	}{
		{"assign", []Event{captured}, func(l *Lead) ([]Event, error) { return l.Assign("U1") },
			expectEvents(LeadAssignedEvent{LeadID: "L1", OwnerID: "U1"})},
		{"reassign records the previous owner", []Event{captured, LeadAssignedEvent{LeadID: "L1", OwnerID: "U1"}},
			func(l *Lead) ([]Event, error) { return l.Assign("U2") },
			expectEvents(LeadAssignedEvent{LeadID: "L1", OwnerID: "U2", PreviousOwnerID: "U1"})},
		{"assign the same owner is a no-op", []Event{captured, LeadAssignedEvent{LeadID: "L1", OwnerID: "U1"}},
			func(l *Lead) ([]Event, error) { return l.Assign("U1") }, expectEvents()},
		{"assign without owner", []Event{captured}, func(l *Lead) ([]Event, error) { return l.Assign("") }, expectInvalid("owner_id")},
		{"assign a missing lead", nil, func(l *Lead) ([]Event, error) { return l.Assign("U1") }, expectNotFound()},
		{"assign a converted lead", []Event{captured, qualified, converted}, func(l *Lead) ([]Event, error) { return l.Assign("U1") },
			expectRefused("lead_already_converted")},

		{"first contact attempt", []Event{captured}, func(l *Lead) ([]Event, error) { return l.LogContactAttempt("call", "reached", "", t0) },
			expectEvents(contacted)},
		{"attempts are numbered", []Event{captured, contacted},
			func(l *Lead) ([]Event, error) { return l.LogContactAttempt("email", "bounced", "typo", t0) },
			expectEvents(LeadContactAttemptedEvent{LeadID: "L1", Channel: "email", Outcome: "bounced", Note: "typo", AttemptedAt: t0, AttemptNumber: 2})},
		{"bad channel", []Event{captured}, func(l *Lead) ([]Event, error) { return l.LogContactAttempt("fax", "reached", "", t0) },
			expectInvalid("channel")},
		{"bad outcome", []Event{captured}, func(l *Lead) ([]Event, error) { return l.LogContactAttempt("call", "maybe", "", t0) },
			expectInvalid("outcome")},
		{"contact a disqualified lead", []Event{captured, disqualified},
			func(l *Lead) ([]Event, error) { return l.LogContactAttempt("call", "reached", "", t0) }, expectRefused("lead_disqualified")},

		{"qualify", []Event{captured, contacted}, func(l *Lead) ([]Event, error) { return l.Qualify("") }, expectEvents(qualified)},
		{"qualify twice", []Event{captured, contacted, qualified}, func(l *Lead) ([]Event, error) { return l.Qualify("") },
			expectRefused("lead_already_qualified")},
		{"qualify a converted lead", []Event{captured, qualified, converted}, func(l *Lead) ([]Event, error) { return l.Qualify("") },
			expectRefused("lead_already_converted")},
		{"qualify a missing lead", nil, func(l *Lead) ([]Event, error) { return l.Qualify("") }, expectNotFound()},

		{"disqualify", []Event{captured}, func(l *Lead) ([]Event, error) { return l.Disqualify("no budget") }, expectEvents(disqualified)},
		{"disqualify without reason", []Event{captured}, func(l *Lead) ([]Event, error) { return l.Disqualify("") }, expectInvalid("reason")},
		{"disqualify twice", []Event{captured, disqualified}, func(l *Lead) ([]Event, error) { return l.Disqualify("again") },
			expectRefused("lead_disqualified")},
		{"disqualify a converted lead", []Event{captured, qualified, converted}, func(l *Lead) ([]Event, error) { return l.Disqualify("x") },
			expectRefused("lead_already_converted")},

		{"convert", []Event{captured, contacted, qualified}, func(l *Lead) ([]Event, error) { return l.Convert("A1", true, "C1", "", t0) },
			expectEvents(converted)},
		{"convert twice", []Event{captured, qualified, converted}, func(l *Lead) ([]Event, error) { return l.Convert("A1", true, "C1", "", t0) },
			expectRefused("lead_already_converted")},
		{"convert an unqualified lead", []Event{captured}, func(l *Lead) ([]Event, error) { return l.Convert("A1", true, "C1", "", t0) },
			expectRefused("lead_not_qualified")},
		{"convert a disqualified lead", []Event{captured, disqualified},
			func(l *Lead) ([]Event, error) { return l.Convert("A1", true, "C1", "", t0) }, expectRefused("lead_disqualified")},
		{"convert a missing lead", nil, func(l *Lead) ([]Event, error) { return l.Convert("A1", true, "C1", "", t0) }, expectNotFound()},
		{"convert a lead whose person was erased", []Event{LeadCapturedEvent{LeadID: "L1", Name: ErasedValue, Company: "Engines Ltd",
			Email: ErasedValue, Source: "webinar", CapturedAt: t0}, qualified},
			func(l *Lead) ([]Event, error) { return l.Convert("A1", true, "C1", "", t0) }, expectRefused("personal_data_erased")},

		{"log an activity", []Event{captured}, func(l *Lead) ([]Event, error) {
			return l.LogActivity(LogActivity{ActivityID: "X1", Kind: "note", Subject: "met at fair"}, t0)
		}, expectEvents(ActivityLoggedEvent{ActivityID: "X1", EntityType: "lead", EntityID: "L1", Kind: "note", Subject: "met at fair", LoggedAt: t0})},
		{"activity of an unknown kind", []Event{captured}, func(l *Lead) ([]Event, error) {
			return l.LogActivity(LogActivity{ActivityID: "X1", Kind: "party", Subject: "s"}, t0)
		}, expectInvalid("kind")},
		{"activity without subject", []Event{captured}, func(l *Lead) ([]Event, error) {
			return l.LogActivity(LogActivity{ActivityID: "X1", Kind: "note"}, t0)
		}, expectInvalid("subject")},
		{"activity on a missing lead", nil, func(l *Lead) ([]Event, error) {
			return l.LogActivity(LogActivity{ActivityID: "X1", Kind: "note", Subject: "s"}, t0)
		}, expectNotFound()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewLead("L1"), tt.history...))
			check(t, got, err, tt.want)
		})
	}
}

func TestLeadFoldsState(t *testing.T) {
	l := given(NewLead("L1"), captured, LeadAssignedEvent{LeadID: "L1", OwnerID: "U1"},
		LeadContactAttemptedEvent{LeadID: "L1", AttemptNumber: 1}, LeadQualifiedEvent{LeadID: "L1"},
		LeadConvertedEvent{LeadID: "L1", AccountID: "A1", ContactID: "C1", OpportunityID: "O1"})
	conv, ok := l.Conversion()
	if l.Status() != LeadConverted || l.Owner() != "U1" || l.ContactAttempts() != 1 || !ok || conv.OpportunityID != "O1" {
		t.Fatalf("folded state: status %s owner %s attempts %d conversion %+v", l.Status(), l.Owner(), l.ContactAttempts(), conv)
	}
}
