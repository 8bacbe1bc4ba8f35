package aggregates

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	oppT1 = t0.Add(24 * time.Hour)
	oppT2 = t0.Add(48 * time.Hour)
	oppT3 = t0.Add(72 * time.Hour)

	oppOpened = OpportunityOpenedEvent{OpportunityID: "O1", AccountID: "A1", Name: "Engines for Ada", Amount: "125000.00",
		Currency: "EUR", ExpectedCloseDate: "2026-06-30", OwnerID: "U1", Stage: StageProspecting, Probability: 10,
		ForecastCategory: ForecastPipeline, OpenedAt: t0}
	oppToProposal = OpportunityStageChangedEvent{OpportunityID: "O1", From: StageProspecting, To: StageProposal,
		Probability: 60, ForecastCategory: ForecastBestCase, ChangedAt: oppT1}
	oppWon = OpportunityStageChangedEvent{OpportunityID: "O1", From: StageProposal, To: StageClosedWon,
		Probability: 100, ForecastCategory: ForecastClosed, ChangedAt: oppT2}
	oppLost = OpportunityStageChangedEvent{OpportunityID: "O1", From: StageProposal, To: StageClosedLost,
		Probability: 0, ForecastCategory: ForecastOmitted, Reason: "no budget", ChangedAt: oppT2}
)

func TestPipeline(t *testing.T) {
	want := []struct {
		stage    string
		prob     int
		forecast string
		closed   bool
	}{
		{"prospecting", 10, "pipeline", false}, {"qualification", 30, "pipeline", false},
		{"proposal", 60, "best_case", false}, {"negotiation", 80, "commit", false},
		{"closed_won", 100, "closed", true}, {"closed_lost", 0, "omitted", true},
	}
	if len(Stages) != len(want) || len(OpenStages) != 4 {
		t.Fatalf("Stages %v, OpenStages %v", Stages, OpenStages)
	}
	for i, w := range want {
		s := Stages[i]
		if s != w.stage || StageProbability(s) != w.prob || ForecastCategory(s) != w.forecast || IsClosedStage(s) != w.closed {
			t.Errorf("stage %d: %s %d %s %v, want %+v", i, s, StageProbability(s), ForecastCategory(s), IsClosedStage(s), w)
		}
		if !w.closed && OpenStages[i] != s {
			t.Errorf("OpenStages[%d] = %s, want %s", i, OpenStages[i], s)
		}
	}
	if StageProbability("won") != 0 || ForecastCategory("won") != "" || IsClosedStage("won") {
		t.Errorf("an unknown stage has a probability, category or is closed")
	}
}

func TestOpportunityEventsAreNamed(t *testing.T) {
	want := []string{"opportunity.opened.v1", "opportunity.stage_changed.v1", "opportunity.amount_changed.v1",
		"opportunity.close_date_changed.v1", "opportunity.reopened.v1"}
	var got []string
	for _, e := range OpportunityEvents() {
		got = append(got, EventType(e))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestOpportunityOpen(t *testing.T) {
	valid := OpenOpportunity{AccountID: "A1", Name: "Engines for Ada", Amount: " 125000.00 ", Currency: "EUR",
		ExpectedCloseDate: "2026-06-30", OwnerID: "U1"}
	tests := []struct {
		name    string
		history []Event
		cmd     func(OpenOpportunity) OpenOpportunity
		want    outcome
	}{
		{"opens in prospecting by default", nil, func(c OpenOpportunity) OpenOpportunity { return c }, expectEvents(oppOpened)},
		{"opens in a given open stage from a lead", nil, func(c OpenOpportunity) OpenOpportunity {
			c.Stage, c.LeadID, c.OwnerID = StageNegotiation, "L1", ""
			return c
		}, expectEvents(OpportunityOpenedEvent{OpportunityID: "O1", AccountID: "A1", LeadID: "L1", Name: "Engines for Ada",
			Amount: "125000.00", Currency: "EUR", ExpectedCloseDate: "2026-06-30", Stage: StageNegotiation, Probability: 80,
			ForecastCategory: ForecastCommit, OpenedAt: t0})},
		{"twice", []Event{oppOpened}, func(c OpenOpportunity) OpenOpportunity { return c }, expectRefused("opportunity_exists")},
		{"no account", nil, func(c OpenOpportunity) OpenOpportunity { c.AccountID = ""; return c }, expectInvalid("account_id")},
		{"no name", nil, func(c OpenOpportunity) OpenOpportunity { c.Name = " "; return c }, expectInvalid("name")},
		{"long name", nil, func(c OpenOpportunity) OpenOpportunity { c.Name = strings.Repeat("n", 201); return c }, expectInvalid("name")},
		{"long owner", nil, func(c OpenOpportunity) OpenOpportunity { c.OwnerID = strings.Repeat("u", 201); return c }, expectInvalid("owner_id")},
		{"NUL in lead id", nil, func(c OpenOpportunity) OpenOpportunity { c.LeadID = "L\x001"; return c }, expectInvalid("lead_id")},
		{"no amount", nil, func(c OpenOpportunity) OpenOpportunity { c.Amount = ""; return c }, expectInvalid("amount")},
		{"float amount", nil, func(c OpenOpportunity) OpenOpportunity { c.Amount = "1.5e5"; return c }, expectInvalid("amount")},
		{"negative amount", nil, func(c OpenOpportunity) OpenOpportunity { c.Amount = "-5"; return c }, expectInvalid("amount")},
		{"no currency", nil, func(c OpenOpportunity) OpenOpportunity { c.Currency = ""; return c }, expectInvalid("currency")},
		{"lower case currency", nil, func(c OpenOpportunity) OpenOpportunity { c.Currency = "eur"; return c }, expectInvalid("currency")},
		{"unknown currency", nil, func(c OpenOpportunity) OpenOpportunity { c.Currency = "EUX"; return c }, expectInvalid("currency")},
		{"no close date", nil, func(c OpenOpportunity) OpenOpportunity { c.ExpectedCloseDate = ""; return c }, expectInvalid("expected_close_date")},
		{"impossible close date", nil, func(c OpenOpportunity) OpenOpportunity { c.ExpectedCloseDate = "2026-02-30"; return c },
			expectInvalid("expected_close_date")},
		{"unknown stage", nil, func(c OpenOpportunity) OpenOpportunity { c.Stage = "won"; return c }, expectInvalid("stage")},
		{"closed won stage", nil, func(c OpenOpportunity) OpenOpportunity { c.Stage = StageClosedWon; return c }, expectInvalid("stage")},
		{"closed lost stage", nil, func(c OpenOpportunity) OpenOpportunity { c.Stage = StageClosedLost; return c }, expectInvalid("stage")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := given(NewOpportunity("O1"), tt.history...).Open(tt.cmd(valid), t0)
			check(t, got, err, tt.want)
		})
	}
}

func TestOpportunityCommands(t *testing.T) {
	type when = func(*Opportunity) ([]Event, error)
	stage := func(s, note, reason string) when {
		return func(o *Opportunity) ([]Event, error) { return o.ChangeStage(s, note, reason, oppT3) }
	}
	amount := func(a, c string) when { return func(o *Opportunity) ([]Event, error) { return o.ChangeAmount(a, c) } }
	closeDate := func(d string) when { return func(o *Opportunity) ([]Event, error) { return o.ChangeCloseDate(d) } }
	reopen := func(r string) when { return func(o *Opportunity) ([]Event, error) { return o.Reopen(r, oppT3) } }
	activity := func(c LogActivity) when {
		return func(o *Opportunity) ([]Event, error) { return o.LogActivity(c, oppT3) }
	}
	changed := func(from, to, note, reason string) OpportunityStageChangedEvent {
		return OpportunityStageChangedEvent{OpportunityID: "O1", From: from, To: to, Probability: StageProbability(to),
			ForecastCategory: ForecastCategory(to), Note: note, Reason: reason, ChangedAt: oppT3}
	}
	tests := []struct {
		name    string
		history []Event
		when    when
		want    outcome
	}{
		{"advance", []Event{oppOpened}, stage(StageQualification, "call went well", ""),
			expectEvents(changed(StageProspecting, StageQualification, "call went well", ""))},
		{"skip ahead", []Event{oppOpened}, stage(StageNegotiation, "", ""), expectEvents(changed(StageProspecting, StageNegotiation, "", ""))},
		{"move back", []Event{oppOpened, oppToProposal}, stage(StageQualification, "scope unclear", ""),
			expectEvents(changed(StageProposal, StageQualification, "scope unclear", ""))},
		{"win", []Event{oppOpened, oppToProposal}, stage(StageClosedWon, "", ""), expectEvents(changed(StageProposal, StageClosedWon, "", ""))},
		{"a reason is kept only for a loss", []Event{oppOpened, oppToProposal}, stage(StageClosedWon, "", "price"),
			expectEvents(changed(StageProposal, StageClosedWon, "", ""))},
		{"lose with a reason", []Event{oppOpened, oppToProposal}, stage(StageClosedLost, "", "no budget"),
			expectEvents(changed(StageProposal, StageClosedLost, "", "no budget"))},
		{"lose without a reason", []Event{oppOpened, oppToProposal}, stage(StageClosedLost, "", " "), expectInvalid("reason")},
		{"lose with a long reason", []Event{oppOpened}, stage(StageClosedLost, "", strings.Repeat("r", 201)), expectInvalid("reason")},
		{"same stage is a no-op", []Event{oppOpened, oppToProposal}, stage(StageProposal, "again", ""), expectEvents()},
		{"unknown stage", []Event{oppOpened}, stage("won", "", ""), expectInvalid("stage")},
		{"empty stage", []Event{oppOpened}, stage("", "", ""), expectInvalid("stage")},
		{"long note", []Event{oppOpened}, stage(StageProposal, strings.Repeat("n", maxLongText+1), ""), expectInvalid("note")},
		{"advance a won deal", []Event{oppOpened, oppToProposal, oppWon}, stage(StageNegotiation, "", ""), expectRefused("opportunity_closed")},
		{"lose a won deal", []Event{oppOpened, oppToProposal, oppWon}, stage(StageClosedLost, "", "changed mind"), expectRefused("opportunity_closed")},
		{"win a lost deal", []Event{oppOpened, oppToProposal, oppLost}, stage(StageClosedWon, "", ""), expectRefused("opportunity_closed")},
		{"stage of a missing opportunity", nil, stage(StageProposal, "", ""), expectNotFound()},

		{"change amount", []Event{oppOpened}, amount(" 150000 ", "EUR"), expectEvents(OpportunityAmountChangedEvent{OpportunityID: "O1",
			FromAmount: "125000.00", FromCurrency: "EUR", Amount: "150000", Currency: "EUR"})},
		{"change currency only", []Event{oppOpened}, amount("125000.00", "USD"), expectEvents(OpportunityAmountChangedEvent{OpportunityID: "O1",
			FromAmount: "125000.00", FromCurrency: "EUR", Amount: "125000.00", Currency: "USD"})},
		{"same amount is a no-op", []Event{oppOpened}, amount("125000.00", "EUR"), expectEvents()},
		{"numerically equal amount is a no-op", []Event{oppOpened}, amount("125000", "EUR"), expectEvents()},
		{"amount after a change", []Event{oppOpened, OpportunityAmountChangedEvent{OpportunityID: "O1", Amount: "9", Currency: "GBP"}},
			amount("9.5", "GBP"), expectEvents(OpportunityAmountChangedEvent{OpportunityID: "O1", FromAmount: "9", FromCurrency: "GBP",
				Amount: "9.5", Currency: "GBP"})},
		{"bad amount", []Event{oppOpened}, amount("12,5", "EUR"), expectInvalid("amount")},
		{"no amount", []Event{oppOpened}, amount("", "EUR"), expectInvalid("amount")},
		{"bad currency", []Event{oppOpened}, amount("1", "euro"), expectInvalid("currency")},
		{"amount of a closed deal", []Event{oppOpened, oppToProposal, oppWon}, amount("1", "EUR"), expectRefused("opportunity_closed")},
		{"amount of a missing opportunity", nil, amount("1", "EUR"), expectNotFound()},

		{"change close date", []Event{oppOpened}, closeDate("2026-09-30"),
			expectEvents(OpportunityCloseDateChangedEvent{OpportunityID: "O1", From: "2026-06-30", To: "2026-09-30"})},
		{"close date after a change", []Event{oppOpened, OpportunityCloseDateChangedEvent{OpportunityID: "O1", From: "2026-06-30", To: "2026-07-31"}},
			closeDate("2026-08-31"), expectEvents(OpportunityCloseDateChangedEvent{OpportunityID: "O1", From: "2026-07-31", To: "2026-08-31"})},
		{"same close date is a no-op", []Event{oppOpened}, closeDate(" 2026-06-30 "), expectEvents()},
		{"bad close date", []Event{oppOpened}, closeDate("30/06/2026"), expectInvalid("expected_close_date")},
		{"no close date", []Event{oppOpened}, closeDate(""), expectInvalid("expected_close_date")},
		{"close date of a lost deal", []Event{oppOpened, oppToProposal, oppLost}, closeDate("2026-09-30"), expectRefused("opportunity_closed")},
		{"close date of a missing opportunity", nil, closeDate("2026-09-30"), expectNotFound()},

		{"reopen a won deal", []Event{oppOpened, oppToProposal, oppWon}, reopen("signature withdrawn"),
			expectEvents(OpportunityReopenedEvent{OpportunityID: "O1", Reason: "signature withdrawn", FromStage: StageClosedWon,
				ToStage: StageProposal, ReopenedAt: oppT3})},
		{"reopen a lost deal", []Event{oppOpened, oppLost}, reopen("budget found"),
			expectEvents(OpportunityReopenedEvent{OpportunityID: "O1", Reason: "budget found", FromStage: StageClosedLost,
				ToStage: StageProspecting, ReopenedAt: oppT3})},
		{"reopen without a reason", []Event{oppOpened, oppToProposal, oppWon}, reopen(""), expectInvalid("reason")},
		{"reopen an open deal", []Event{oppOpened, oppToProposal}, reopen("why"), expectRefused("opportunity_not_closed")},
		{"reopen a reopened deal", []Event{oppOpened, oppToProposal, oppWon,
			OpportunityReopenedEvent{OpportunityID: "O1", Reason: "r", FromStage: StageClosedWon, ToStage: StageProposal, ReopenedAt: oppT3}},
			reopen("again"), expectRefused("opportunity_not_closed")},
		{"reopen a missing opportunity", nil, reopen("why"), expectNotFound()},

		{"log an activity", []Event{oppOpened}, activity(LogActivity{ActivityID: "X1", Kind: "call", Subject: "demo"}),
			expectEvents(ActivityLoggedEvent{ActivityID: "X1", EntityType: "opportunity", EntityID: "O1", Kind: "call", Subject: "demo", LoggedAt: oppT3})},
		{"log an activity on a closed deal", []Event{oppOpened, oppToProposal, oppWon}, activity(LogActivity{ActivityID: "X2", Kind: "note", Subject: "kickoff"}),
			expectEvents(ActivityLoggedEvent{ActivityID: "X2", EntityType: "opportunity", EntityID: "O1", Kind: "note", Subject: "kickoff", LoggedAt: oppT3})},
		{"activity of an unknown kind", []Event{oppOpened}, activity(LogActivity{ActivityID: "X1", Kind: "party", Subject: "s"}), expectInvalid("kind")},
		{"activity without subject", []Event{oppOpened}, activity(LogActivity{ActivityID: "X1", Kind: "note"}), expectInvalid("subject")},
		{"activity on a missing opportunity", nil, activity(LogActivity{ActivityID: "X1", Kind: "note", Subject: "s"}), expectNotFound()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewOpportunity("O1"), tt.history...))
			check(t, got, err, tt.want)
		})
	}
}

func TestOpportunityFoldsState(t *testing.T) {
	empty := NewOpportunity("O1")
	if empty.Exists() || empty.Stage() != "" || empty.IsClosed() || empty.View().StageHistory == nil {
		t.Fatalf("empty opportunity: %+v", empty.View())
	}

	o := given(NewOpportunity("O1"), oppOpened, oppToProposal,
		OpportunityAmountChangedEvent{OpportunityID: "O1", FromAmount: "125000.00", FromCurrency: "EUR", Amount: "90000", Currency: "USD"},
		OpportunityCloseDateChangedEvent{OpportunityID: "O1", From: "2026-06-30", To: "2026-07-31"},
		ActivityLoggedEvent{ActivityID: "X1", EntityType: "opportunity", EntityID: "O1", Kind: "call", Subject: "demo"},
		oppLost)
	closedAt := oppT2
	want := OpportunityView{ID: "O1", AccountID: "A1", Name: "Engines for Ada", Amount: "90000", Currency: "USD",
		ExpectedCloseDate: "2026-07-31", OwnerID: "U1", Stage: StageClosedLost, Probability: 0, ForecastCategory: ForecastOmitted,
		IsClosed: true, LostReason: "no budget", Activities: 1, OpenedAt: t0, ClosedAt: &closedAt,
		StageHistory: []StageEntry{{StageProspecting, t0}, {StageProposal, oppT1}, {StageClosedLost, oppT2}}, Approvals: []Approval{}}
	if got := o.View(); !reflect.DeepEqual(got, want) {
		t.Fatalf("lost view\n got %+v\nwant %+v", got, want)
	}
	if o.ID() != "O1" || !o.Exists() || !o.IsClosed() || o.Stage() != StageClosedLost {
		t.Fatalf("accessors: %s %v %v %s", o.ID(), o.Exists(), o.IsClosed(), o.Stage())
	}

	// Reopening returns to the last open stage before the close.
	evs, err := o.Reopen("budget found", oppT3)
	if err != nil {
		t.Fatal(err)
	}
	if r := evs[0].(OpportunityReopenedEvent); r.ToStage != StageProposal || r.FromStage != StageClosedLost {
		t.Fatalf("reopen: %+v", r)
	}
	given(o, evs...)
	want.Stage, want.Probability, want.ForecastCategory, want.IsClosed, want.LostReason, want.ClosedAt =
		StageProposal, 60, ForecastBestCase, false, "", nil
	want.StageHistory = append(want.StageHistory, StageEntry{StageProposal, oppT3})
	if got := o.View(); !reflect.DeepEqual(got, want) {
		t.Fatalf("reopened view\n got %+v\nwant %+v", got, want)
	}
	if o.IsClosed() || o.Stage() != StageProposal {
		t.Fatalf("reopened: %s", o.Stage())
	}

	// Open stage changes after the reopen are remembered for the next close.
	given(o, OpportunityStageChangedEvent{OpportunityID: "O1", From: StageProposal, To: StageNegotiation, ChangedAt: oppT3},
		OpportunityStageChangedEvent{OpportunityID: "O1", From: StageNegotiation, To: StageClosedWon, ChangedAt: oppT3})
	evs, err = o.Reopen("deal fell through", oppT3)
	if err != nil || evs[0].(OpportunityReopenedEvent).ToStage != StageNegotiation {
		t.Fatalf("second reopen: %v %v", evs, err)
	}

	// The view encodes with the API's field names; the history is never null.
	b, err := json.Marshal(given(NewOpportunity("O2"), oppOpened).View())
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"id":"O2"`, `"account_id":"A1"`, `"amount":"125000.00"`, `"currency":"EUR"`,
		`"expected_close_date":"2026-06-30"`, `"owner_id":"U1"`, `"stage":"prospecting"`, `"probability":10`,
		`"forecast_category":"pipeline"`, `"is_closed":false`, `"stage_history":[{"stage":"prospecting","entered_at":"2026-03-02T09:30:00Z"}]`,
		`"activities":0`, `"opened_at":"2026-03-02T09:30:00Z"`, `"closed_at":null`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("view JSON %s lacks %s", b, field)
		}
	}
}

func TestOpportunityViewHistoryIsACopy(t *testing.T) {
	o := given(NewOpportunity("O1"), oppOpened)
	v := o.View()
	v.StageHistory[0].Stage = "changed"
	if o.View().StageHistory[0].Stage != StageProspecting {
		t.Fatal("View shares its stage history with the aggregate")
	}
}
