package aggregates

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var ticketOpened = TicketOpenedEvent{TicketID: "T1", Subject: "Login fails", Priority: "high", Channel: "email",
	FirstResponseDue: t0.Add(4 * time.Hour), ResolutionDue: t0.Add(24 * time.Hour), OpenedAt: t0}

func TestTicketOpen(t *testing.T) {
	valid := OpenTicket{Subject: "Login fails", Description: "since Monday", AccountID: "A1", ContactID: "C1",
		Priority: "high", Channel: "email"}
	full := TicketOpenedEvent{TicketID: "T1", Subject: "Login fails", Description: "since Monday", AccountID: "A1",
		ContactID: "C1", Priority: "high", Channel: "email", FirstResponseDue: t0.Add(4 * time.Hour),
		ResolutionDue: t0.Add(24 * time.Hour), OpenedAt: t0}
	tests := []struct {
		name    string
		history []Event
		cmd     func(OpenTicket) OpenTicket
		want    outcome
	}{
		{"opens with due times", nil, func(c OpenTicket) OpenTicket { return c }, expectEvents(full)},
		{"twice", []Event{ticketOpened}, func(c OpenTicket) OpenTicket { return c }, expectRefused("ticket_exists")},
		{"no subject", nil, func(c OpenTicket) OpenTicket { c.Subject = " "; return c }, expectInvalid("subject")},
		{"long subject", nil, func(c OpenTicket) OpenTicket { c.Subject = strings.Repeat("s", 201); return c }, expectInvalid("subject")},
		{"long description", nil, func(c OpenTicket) OpenTicket { c.Description = strings.Repeat("d", 10001); return c },
			expectInvalid("description")},
		{"NUL in description", nil, func(c OpenTicket) OpenTicket { c.Description = "a\x00b"; return c }, expectInvalid("description")},
		{"long account id", nil, func(c OpenTicket) OpenTicket { c.AccountID = strings.Repeat("a", 201); return c }, expectInvalid("account_id")},
		{"long contact id", nil, func(c OpenTicket) OpenTicket { c.ContactID = strings.Repeat("c", 201); return c }, expectInvalid("contact_id")},
		{"no priority", nil, func(c OpenTicket) OpenTicket { c.Priority = ""; return c }, expectInvalid("priority")},
		{"bad priority", nil, func(c OpenTicket) OpenTicket { c.Priority = "asap"; return c }, expectInvalid("priority")},
		{"no channel", nil, func(c OpenTicket) OpenTicket { c.Channel = ""; return c }, expectInvalid("channel")},
		{"bad channel", nil, func(c OpenTicket) OpenTicket { c.Channel = "fax"; return c }, expectInvalid("channel")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := given(NewTicket("T1"), tt.history...).Open(tt.cmd(valid), DefaultSLA(), t0)
			check(t, got, err, tt.want)
		})
	}
	t.Run("description of exactly the limit", func(t *testing.T) {
		c := valid
		c.Description = strings.Repeat("d", 10000)
		if _, err := NewTicket("T1").Open(c, DefaultSLA(), t0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTicketSLA(t *testing.T) {
	targets := []struct {
		priority          string
		first, resolution time.Duration
	}{
		{"urgent", time.Hour, 4 * time.Hour},
		{"high", 4 * time.Hour, 24 * time.Hour},
		{"normal", 8 * time.Hour, 72 * time.Hour},
		{"low", 24 * time.Hour, 168 * time.Hour},
	}
	for _, tt := range targets {
		t.Run("open "+tt.priority, func(t *testing.T) {
			got, err := NewTicket("T1").Open(OpenTicket{Subject: "s", Priority: tt.priority, Channel: "web"}, DefaultSLA(), t0)
			check(t, got, err, expectEvents(TicketOpenedEvent{TicketID: "T1", Subject: "s", Priority: tt.priority, Channel: "web",
				FirstResponseDue: t0.Add(tt.first), ResolutionDue: t0.Add(tt.resolution), OpenedAt: t0}))
		})
		t.Run("change to "+tt.priority, func(t *testing.T) {
			from := "normal"
			if tt.priority == "normal" {
				from = "low"
			}
			opened := ticketOpened
			opened.Priority = from
			// The due times count from the opening, not from the change.
			got, err := given(NewTicket("T1"), opened).ChangePriority(tt.priority, DefaultSLA(), t0.Add(30*time.Hour))
			check(t, got, err, expectEvents(TicketPriorityChangedEvent{TicketID: "T1", From: from, To: tt.priority,
				FirstResponseDue: t0.Add(tt.first), ResolutionDue: t0.Add(tt.resolution)}))
		})
	}
	t.Run("custom policy on open", func(t *testing.T) {
		custom := SLAPolicy{"high": {FirstResponse: time.Minute, Resolution: time.Hour}}
		got, err := NewTicket("T1").Open(OpenTicket{Subject: "s", Priority: "high", Channel: "web"}, custom, t0)
		check(t, got, err, expectEvents(TicketOpenedEvent{TicketID: "T1", Subject: "s", Priority: "high", Channel: "web",
			FirstResponseDue: t0.Add(time.Minute), ResolutionDue: t0.Add(time.Hour), OpenedAt: t0}))
	})
	t.Run("a policy without the priority falls back to the default", func(t *testing.T) {
		partial := SLAPolicy{"urgent": {FirstResponse: time.Minute, Resolution: time.Hour}}
		got, err := NewTicket("T1").Open(OpenTicket{Subject: "s", Priority: "low", Channel: "web"}, partial, t0)
		check(t, got, err, expectEvents(TicketOpenedEvent{TicketID: "T1", Subject: "s", Priority: "low", Channel: "web",
			FirstResponseDue: t0.Add(24 * time.Hour), ResolutionDue: t0.Add(168 * time.Hour), OpenedAt: t0}))
		got, err = NewTicket("T1").Open(OpenTicket{Subject: "s", Priority: "low", Channel: "web"}, nil, t0)
		check(t, got, err, expectEvents(TicketOpenedEvent{TicketID: "T1", Subject: "s", Priority: "low", Channel: "web",
			FirstResponseDue: t0.Add(24 * time.Hour), ResolutionDue: t0.Add(168 * time.Hour), OpenedAt: t0}))
	})
	t.Run("custom policy on a priority change", func(t *testing.T) {
		custom := SLAPolicy{"urgent": {FirstResponse: 10 * time.Minute, Resolution: 2 * time.Hour}}
		got, err := given(NewTicket("T1"), ticketOpened).ChangePriority("urgent", custom, t0.Add(time.Hour))
		check(t, got, err, expectEvents(TicketPriorityChangedEvent{TicketID: "T1", From: "high", To: "urgent",
			FirstResponseDue: t0.Add(10 * time.Minute), ResolutionDue: t0.Add(2 * time.Hour)}))
	})
	t.Run("opening time is normalised to UTC", func(t *testing.T) {
		local := t0.In(time.FixedZone("CET", 3600))
		got, err := NewTicket("T1").Open(OpenTicket{Subject: "Login fails", Priority: "high", Channel: "email"}, DefaultSLA(), local)
		check(t, got, err, expectEvents(ticketOpened))
	})
	t.Run("responses and resolutions are measured against the changed due times", func(t *testing.T) {
		tk := given(NewTicket("T1"), ticketOpened, TicketPriorityChangedEvent{TicketID: "T1", From: "high", To: "urgent",
			FirstResponseDue: t0.Add(time.Hour), ResolutionDue: t0.Add(4 * time.Hour)})
		at := t0.Add(2 * time.Hour) // within the old high target, past the urgent one
		got, err := tk.Respond("hello", at)
		check(t, got, err, expectEvents(TicketRespondedEvent{TicketID: "T1", Body: "hello", First: true, WithinSLA: false, RespondedAt: at}))
		at = t0.Add(5 * time.Hour)
		got, err = tk.Resolve("fixed", at)
		check(t, got, err, expectEvents(TicketResolvedEvent{TicketID: "T1", Resolution: "fixed", WithinSLA: false, ResolvedAt: at}))
	})
}

func TestTicketCommands(t *testing.T) {
	late := t0.Add(48 * time.Hour)
	responded := TicketRespondedEvent{TicketID: "T1", Body: "on it", First: true, WithinSLA: true, RespondedAt: t0}
	resolved := TicketResolvedEvent{TicketID: "T1", Resolution: "reset", WithinSLA: true, ResolvedAt: t0}
	closed := TicketClosedEvent{TicketID: "T1", ClosedAt: t0}
	reopened := TicketReopenedEvent{TicketID: "T1", Reason: "again", FromStatus: TicketClosed, ReopenedAt: t0}
	satisfied := TicketSatisfactionRecordedEvent{TicketID: "T1", Score: 4, RecordedAt: t0}
	assigned := TicketAssignedEvent{TicketID: "T1", AssigneeID: "A1"}
	isResolved := []Event{ticketOpened, resolved}
	isClosed := []Event{ticketOpened, resolved, closed}
	tests := []struct {
		name    string
		history []Event
		when    func(*Ticket) ([]Event, error)
		want    outcome
	}{
		{"assign", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Assign("A1") }, expectEvents(assigned)},
		{"reassign records the previous assignee", []Event{ticketOpened, assigned}, func(tk *Ticket) ([]Event, error) { return tk.Assign("A2") },
			expectEvents(TicketAssignedEvent{TicketID: "T1", AssigneeID: "A2", PreviousAssigneeID: "A1"})},
		{"assign the same agent is a no-op", []Event{ticketOpened, assigned}, func(tk *Ticket) ([]Event, error) { return tk.Assign("A1") },
			expectEvents()},
		{"assign a resolved ticket", isResolved, func(tk *Ticket) ([]Event, error) { return tk.Assign("A1") }, expectEvents(assigned)},
		{"assign nobody", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Assign(" ") }, expectInvalid("assignee_id")},
		{"assign a closed ticket", isClosed, func(tk *Ticket) ([]Event, error) { return tk.Assign("A1") }, expectRefused("ticket_closed")},
		{"assign a missing ticket", nil, func(tk *Ticket) ([]Event, error) { return tk.Assign("A1") }, expectNotFound()},

		{"first response in time", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Respond("on it", t0) },
			expectEvents(responded)},
		{"first response exactly at the due time", []Event{ticketOpened},
			func(tk *Ticket) ([]Event, error) { return tk.Respond("on it", t0.Add(4*time.Hour)) },
			expectEvents(TicketRespondedEvent{TicketID: "T1", Body: "on it", First: true, WithinSLA: true, RespondedAt: t0.Add(4 * time.Hour)})},
		{"first response late", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Respond("sorry", late) },
			expectEvents(TicketRespondedEvent{TicketID: "T1", Body: "sorry", First: true, RespondedAt: late})},
		{"second response is not first", []Event{ticketOpened, responded}, func(tk *Ticket) ([]Event, error) { return tk.Respond("more", t0) },
			expectEvents(TicketRespondedEvent{TicketID: "T1", Body: "more", RespondedAt: t0})},
		{"respond to a resolved ticket", isResolved, func(tk *Ticket) ([]Event, error) { return tk.Respond("on it", t0) },
			expectEvents(responded)},
		{"empty response", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Respond(" ", t0) }, expectInvalid("body")},
		{"respond to a closed ticket", isClosed, func(tk *Ticket) ([]Event, error) { return tk.Respond("x", t0) }, expectRefused("ticket_closed")},
		{"respond to a missing ticket", nil, func(tk *Ticket) ([]Event, error) { return tk.Respond("x", t0) }, expectNotFound()},

		{"raise the priority", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.ChangePriority("urgent", DefaultSLA(), late) },
			expectEvents(TicketPriorityChangedEvent{TicketID: "T1", From: "high", To: "urgent", FirstResponseDue: t0.Add(time.Hour), ResolutionDue: t0.Add(4 * time.Hour)})},
		{"lower the priority of a resolved ticket", isResolved,
			func(tk *Ticket) ([]Event, error) { return tk.ChangePriority("low", DefaultSLA(), t0) },
			expectEvents(TicketPriorityChangedEvent{TicketID: "T1", From: "high", To: "low", FirstResponseDue: t0.Add(24 * time.Hour), ResolutionDue: t0.Add(168 * time.Hour)})},
		{"same priority is a no-op", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.ChangePriority("high", DefaultSLA(), t0) },
			expectEvents()},
		{"bad priority", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.ChangePriority("meh", DefaultSLA(), t0) },
			expectInvalid("priority")},
		{"no priority", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.ChangePriority("", DefaultSLA(), t0) },
			expectInvalid("priority")},
		{"priority of a closed ticket", isClosed, func(tk *Ticket) ([]Event, error) { return tk.ChangePriority("low", DefaultSLA(), t0) },
			expectRefused("ticket_closed")},
		{"priority of a missing ticket", nil, func(tk *Ticket) ([]Event, error) { return tk.ChangePriority("low", DefaultSLA(), t0) },
			expectNotFound()},

		{"escalate", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Escalate("angry", t0) },
			expectEvents(TicketEscalatedEvent{TicketID: "T1", Reason: "angry", Level: 1, EscalatedAt: t0})},
		{"escalate again raises the level", []Event{ticketOpened, TicketEscalatedEvent{TicketID: "T1", Level: 1}},
			func(tk *Ticket) ([]Event, error) { return tk.Escalate("still angry", t0) },
			expectEvents(TicketEscalatedEvent{TicketID: "T1", Reason: "still angry", Level: 2, EscalatedAt: t0})},
		{"escalate a reopened ticket", []Event{ticketOpened, resolved, closed, reopened},
			func(tk *Ticket) ([]Event, error) { return tk.Escalate("back", t0) },
			expectEvents(TicketEscalatedEvent{TicketID: "T1", Reason: "back", Level: 1, EscalatedAt: t0})},
		{"escalate without reason", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Escalate("", t0) }, expectInvalid("reason")},
		{"escalate a resolved ticket", isResolved, func(tk *Ticket) ([]Event, error) { return tk.Escalate("x", t0) }, expectRefused("ticket_not_open")},
		{"escalate a closed ticket", isClosed, func(tk *Ticket) ([]Event, error) { return tk.Escalate("x", t0) }, expectRefused("ticket_not_open")},
		{"escalate a missing ticket", nil, func(tk *Ticket) ([]Event, error) { return tk.Escalate("x", t0) }, expectNotFound()},

		{"resolve", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Resolve("reset", t0) }, expectEvents(resolved)},
		{"resolve exactly at the due time", []Event{ticketOpened},
			func(tk *Ticket) ([]Event, error) { return tk.Resolve("reset", t0.Add(24*time.Hour)) },
			expectEvents(TicketResolvedEvent{TicketID: "T1", Resolution: "reset", WithinSLA: true, ResolvedAt: t0.Add(24 * time.Hour)})},
		{"resolve late", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Resolve("reset", late) },
			expectEvents(TicketResolvedEvent{TicketID: "T1", Resolution: "reset", ResolvedAt: late})},
		{"resolve a reopened ticket", []Event{ticketOpened, resolved, closed, reopened},
			func(tk *Ticket) ([]Event, error) { return tk.Resolve("reset", t0) }, expectEvents(resolved)},
		{"resolve twice", isResolved, func(tk *Ticket) ([]Event, error) { return tk.Resolve("again", t0) }, expectRefused("ticket_already_resolved")},
		{"resolve without resolution", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Resolve("", t0) },
			expectInvalid("resolution")},
		{"resolve a closed ticket", isClosed, func(tk *Ticket) ([]Event, error) { return tk.Resolve("x", t0) }, expectRefused("ticket_closed")},
		{"resolve a missing ticket", nil, func(tk *Ticket) ([]Event, error) { return tk.Resolve("x", t0) }, expectNotFound()},

		{"close", isResolved, func(tk *Ticket) ([]Event, error) { return tk.Close(t0) }, expectEvents(closed)},
		{"close an open ticket", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Close(t0) }, expectRefused("ticket_not_resolved")},
		{"close a reopened ticket", []Event{ticketOpened, resolved, closed, reopened},
			func(tk *Ticket) ([]Event, error) { return tk.Close(t0) }, expectRefused("ticket_not_resolved")},
		{"close twice", isClosed, func(tk *Ticket) ([]Event, error) { return tk.Close(t0) }, expectRefused("ticket_closed")},
		{"close a missing ticket", nil, func(tk *Ticket) ([]Event, error) { return tk.Close(t0) }, expectNotFound()},

		{"reopen a closed ticket", isClosed, func(tk *Ticket) ([]Event, error) { return tk.Reopen("again", t0) }, expectEvents(reopened)},
		{"reopen a resolved ticket", isResolved, func(tk *Ticket) ([]Event, error) { return tk.Reopen("again", t0) },
			expectEvents(TicketReopenedEvent{TicketID: "T1", Reason: "again", FromStatus: TicketResolved, ReopenedAt: t0})},
		{"reopen an open ticket", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.Reopen("x", t0) },
			expectRefused("ticket_not_closed")},
		{"reopen a reopened ticket", []Event{ticketOpened, resolved, closed, reopened},
			func(tk *Ticket) ([]Event, error) { return tk.Reopen("x", t0) }, expectRefused("ticket_not_closed")},
		{"reopen without reason", isResolved, func(tk *Ticket) ([]Event, error) { return tk.Reopen("", t0) }, expectInvalid("reason")},
		{"reopen a missing ticket", nil, func(tk *Ticket) ([]Event, error) { return tk.Reopen("x", t0) }, expectNotFound()},

		{"satisfaction on a closed ticket", isClosed, func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(4, "", t0) },
			expectEvents(satisfied)},
		{"satisfaction on a resolved ticket with a comment", isResolved,
			func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(5, "quick", t0) },
			expectEvents(TicketSatisfactionRecordedEvent{TicketID: "T1", Score: 5, Comment: "quick", RecordedAt: t0})},
		{"satisfaction of 1", isResolved, func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(1, "", t0) },
			expectEvents(TicketSatisfactionRecordedEvent{TicketID: "T1", Score: 1, RecordedAt: t0})},
		{"satisfaction of 0", isResolved, func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(0, "", t0) }, expectInvalid("score")},
		{"satisfaction of 6", isResolved, func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(6, "", t0) }, expectInvalid("score")},
		{"satisfaction with a long comment", isResolved,
			func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(3, strings.Repeat("c", 10001), t0) },
			expectInvalid("comment")},
		{"satisfaction on an open ticket", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(3, "", t0) },
			expectRefused("ticket_not_resolved")},
		{"satisfaction on a reopened ticket", []Event{ticketOpened, resolved, satisfied, reopened},
			func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(3, "", t0) }, expectRefused("ticket_not_resolved")},
		{"satisfaction twice", []Event{ticketOpened, resolved, satisfied}, func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(5, "", t0) },
			expectRefused("satisfaction_already_recorded")},
		{"satisfaction twice across a close", []Event{ticketOpened, resolved, satisfied, closed},
			func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(5, "", t0) }, expectRefused("satisfaction_already_recorded")},
		{"satisfaction again after a reopen and a new resolution", []Event{ticketOpened, resolved, satisfied, reopened, resolved},
			func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(4, "", t0) }, expectEvents(satisfied)},
		{"satisfaction on a missing ticket", nil, func(tk *Ticket) ([]Event, error) { return tk.RecordSatisfaction(4, "", t0) },
			expectNotFound()},

		{"log an activity", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) {
			return tk.LogActivity(LogActivity{ActivityID: "X", Kind: "call", Subject: "called"}, t0)
		}, expectEvents(ActivityLoggedEvent{ActivityID: "X", EntityType: "ticket", EntityID: "T1", Kind: "call", Subject: "called", LoggedAt: t0})},
		{"log an activity on a closed ticket", isClosed, func(tk *Ticket) ([]Event, error) {
			return tk.LogActivity(LogActivity{ActivityID: "X", Kind: "note", Subject: "follow-up"}, t0)
		}, expectEvents(ActivityLoggedEvent{ActivityID: "X", EntityType: "ticket", EntityID: "T1", Kind: "note", Subject: "follow-up", LoggedAt: t0})},
		{"activity of an unknown kind", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) {
			return tk.LogActivity(LogActivity{ActivityID: "X", Kind: "party", Subject: "s"}, t0)
		}, expectInvalid("kind")},
		{"activity without subject", []Event{ticketOpened}, func(tk *Ticket) ([]Event, error) {
			return tk.LogActivity(LogActivity{ActivityID: "X", Kind: "call"}, t0)
		}, expectInvalid("subject")},
		{"activity on a missing ticket", nil, func(tk *Ticket) ([]Event, error) {
			return tk.LogActivity(LogActivity{ActivityID: "X", Kind: "call", Subject: "called"}, t0)
		}, expectNotFound()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewTicket("T1"), tt.history...))
			check(t, got, err, tt.want)
		})
	}
}

func TestTicketEvents(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range TicketEvents() {
		if !strings.HasPrefix(e.TypeName(), "ticket.") || e.SchemaVersion() != 1 || seen[EventType(e)] {
			t.Fatalf("event %T: type %s", e, EventType(e))
		}
		seen[EventType(e)] = true
	}
	if len(seen) != 9 {
		t.Fatalf("%d ticket event types, want 9", len(seen))
	}
}

func TestTicketFoldsState(t *testing.T) {
	missing := NewTicket("T1")
	if missing.ID() != "T1" || missing.Exists() || missing.Status() != "" {
		t.Fatalf("new ticket: id %s exists %v status %q", missing.ID(), missing.Exists(), missing.Status())
	}

	responseAt, resolvedAt, closedAt := t0.Add(5*time.Hour), t0.Add(6*time.Hour), t0.Add(7*time.Hour)
	opened := ticketOpened
	opened.Description, opened.AccountID, opened.ContactID = "since Monday", "A1", "C1"
	tk := given(NewTicket("T1"), opened,
		TicketAssignedEvent{TicketID: "T1", AssigneeID: "U1"},
		TicketAssignedEvent{TicketID: "T1", AssigneeID: "U2", PreviousAssigneeID: "U1"},
		TicketRespondedEvent{TicketID: "T1", Body: "looking", First: true, WithinSLA: false, RespondedAt: responseAt},
		TicketRespondedEvent{TicketID: "T1", Body: "still looking", RespondedAt: resolvedAt},
		TicketPriorityChangedEvent{TicketID: "T1", From: "high", To: "urgent", FirstResponseDue: t0.Add(time.Hour), ResolutionDue: t0.Add(4 * time.Hour)},
		TicketEscalatedEvent{TicketID: "T1", Reason: "angry", Level: 1},
		TicketEscalatedEvent{TicketID: "T1", Reason: "angrier", Level: 2},
		ActivityLoggedEvent{ActivityID: "X", EntityType: "ticket", EntityID: "T1", Kind: "call", Subject: "called"},
		TicketResolvedEvent{TicketID: "T1", Resolution: "reset", WithinSLA: false, ResolvedAt: resolvedAt},
		TicketClosedEvent{TicketID: "T1", ClosedAt: closedAt},
		TicketSatisfactionRecordedEvent{TicketID: "T1", Score: 2, Comment: "slow"})
	if !tk.Exists() || tk.Status() != TicketClosed {
		t.Fatalf("exists %v status %s", tk.Exists(), tk.Status())
	}
	v := tk.View()
	two := 2
	want := TicketView{ID: "T1", Subject: "Login fails", Description: "since Monday", AccountID: "A1", ContactID: "C1",
		Priority: "urgent", Channel: "email", Status: TicketClosed, AssigneeID: "U2", EscalationLevel: 2,
		FirstResponseDue: t0.Add(time.Hour), ResolutionDue: t0.Add(4 * time.Hour), FirstResponseAt: &responseAt,
		ResolvedAt: &resolvedAt, ClosedAt: &closedAt, FirstResponseBreached: true, ResolutionBreached: true,
		Satisfaction: &two, SatisfactionComment: "slow", Activities: 1, OpenedAt: t0}
	gotJSON, _ := json.Marshal(v)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("view\n got %s\nwant %s", gotJSON, wantJSON)
	}

	// The view is a copy: changing it does not change the ticket.
	*v.Satisfaction, *v.FirstResponseAt = 5, t0
	if again := tk.View(); *again.Satisfaction != 2 || !again.FirstResponseAt.Equal(responseAt) {
		t.Fatalf("the view aliases the ticket: %+v", again)
	}

	// A reopen clears the resolution, the close and the score; the late
	// resolution stays a recorded breach.
	tk.Apply(TicketReopenedEvent{TicketID: "T1", Reason: "back", FromStatus: TicketClosed, ReopenedAt: closedAt})
	v = tk.View()
	if v.Status != TicketOpen || v.ResolvedAt != nil || v.ClosedAt != nil || v.Satisfaction != nil || v.SatisfactionComment != "" ||
		!v.ResolutionBreached || !v.FirstResponseBreached || v.FirstResponseAt == nil {
		t.Fatalf("after reopen: %+v", v)
	}
}

func TestTicketViewWithoutBreaches(t *testing.T) {
	// Past the due times but with nothing recorded late, nothing is
	// breached: the view never reads a clock.
	v := given(NewTicket("T1"), ticketOpened).View()
	if v.FirstResponseBreached || v.ResolutionBreached || v.FirstResponseAt != nil || v.ResolvedAt != nil || v.Satisfaction != nil {
		t.Fatalf("fresh view: %+v", v)
	}
	v = given(NewTicket("T1"), ticketOpened,
		TicketRespondedEvent{TicketID: "T1", First: true, WithinSLA: true, RespondedAt: t0},
		TicketResolvedEvent{TicketID: "T1", WithinSLA: true, ResolvedAt: t0}).View()
	if v.FirstResponseBreached || v.ResolutionBreached || v.Status != TicketResolved {
		t.Fatalf("in-time view: %+v", v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "subject", "description", "priority", "channel", "status", "escalation_level",
		"first_response_due", "resolution_due", "first_response_at", "resolved_at", "closed_at", "first_response_breached",
		"resolution_breached", "satisfaction", "activities", "opened_at"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("view JSON lacks %q: %s", k, b)
		}
	}
}
