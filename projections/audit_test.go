package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"crm/aggregates"
	"crm/readmodels"
)

var (
	auLead  = listsID(listsKindLead, 1)
	auLead2 = listsID(listsKindLead, 2)
	auAcc   = listsID(listsKindAccount, 1)
	auCon   = listsID(listsKindContact, 1)
	auOpp   = listsID(listsKindOpportunity, 1)
	auTic   = listsID(listsKindTicket, 1)
	auT0    = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

// auditScenario is a short log touching every kind of entity, by two
// actors, with two events of types this build does not know.
func auditScenario(t *testing.T) []Event {
	seq := newEventSeq(t)
	versions := map[string]int64{}
	var out []Event
	add := func(stream, actor string, at time.Time, e aggregates.Event) {
		versions[stream]++
		out = append(out, seq.ev(stream, versions[stream], at, actor, e))
	}
	m := time.Minute
	alice, bob := "key:alice", "key:bob"
	add("lead-"+auLead, alice, auT0, aggregates.LeadCapturedEvent{LeadID: auLead, Name: "Ada Lovelace", Company: "Engines Ltd",
		Email: "ada@engines.example", Source: "web", Campaign: "spring", CapturedAt: auT0})
	add("lead-"+auLead, bob, auT0.Add(1*m), aggregates.LeadAssignedEvent{LeadID: auLead, OwnerID: "owner-a"})
	add("lead-"+auLead, alice, auT0.Add(2*m), aggregates.LeadContactAttemptedEvent{LeadID: auLead, Channel: "call",
		Outcome: "reached", AttemptedAt: auT0.Add(2 * m), AttemptNumber: 1})
	add("lead-"+auLead, alice, auT0.Add(3*m), aggregates.LeadQualifiedEvent{LeadID: auLead, PreviousStatus: "contacted"})
	add("lead-"+auLead, alice, auT0.Add(4*m), aggregates.LeadConvertedEvent{LeadID: auLead, AccountID: auAcc, NewAccount: true,
		ContactID: auCon, OpportunityID: auOpp, ConvertedAt: auT0.Add(4 * m)})
	add("account-"+auAcc, alice, auT0.Add(4*m), aggregates.AccountOpenedEvent{AccountID: auAcc, Name: "Engines Ltd",
		Tier: "standard", OpenedAt: auT0.Add(4 * m)})
	add("account-"+auAcc, alice, auT0.Add(4*m), aggregates.ContactAddedEvent{AccountID: auAcc, ContactID: auCon,
		Name: "Ada Lovelace", Email: "ada@engines.example", AddedAt: auT0.Add(4 * m)})
	add("opportunity-"+auOpp, alice, auT0.Add(4*m), aggregates.OpportunityOpenedEvent{OpportunityID: auOpp, AccountID: auAcc,
		LeadID: auLead, Name: "Pilot", Amount: "1000.50", Currency: "EUR", ExpectedCloseDate: "2027-03-31",
		Stage: "prospecting", Probability: 10, ForecastCategory: "pipeline", OpenedAt: auT0.Add(4 * m)})
	add("opportunity-"+auOpp, bob, auT0.Add(time.Hour), aggregates.OpportunityStageChangedEvent{OpportunityID: auOpp,
		From: "proposal", To: "negotiation", Probability: 80, ForecastCategory: "commit", ChangedAt: auT0.Add(time.Hour)})
	add("account-"+auAcc, bob, auT0.Add(2*time.Hour), aggregates.AccountDetailsChangedEvent{AccountID: auAcc,
		Changes: []aggregates.FieldChange{{Field: "industry", From: "", To: "manufacturing"}, {Field: "owner_id", From: "owner-a", To: "owner-b"}}})
	add("account-"+auAcc, bob, auT0.Add(2*time.Hour), aggregates.AccountTaggedEvent{AccountID: auAcc, Tags: []string{"emea", "vip"}})
	add("account-"+auAcc, bob, auT0.Add(3*time.Hour), aggregates.ActivityLoggedEvent{ActivityID: "act-1", EntityType: "account",
		EntityID: auAcc, Kind: "call", Subject: "Kick-off", LoggedAt: auT0.Add(3 * time.Hour)})
	d1 := auT0.Add(24 * time.Hour)
	add("ticket-"+auTic, "automation:vip", d1, aggregates.TicketOpenedEvent{TicketID: auTic, Subject: "Broken", AccountID: auAcc,
		Priority: "high", Channel: "chat", FirstResponseDue: d1.Add(4 * time.Hour), ResolutionDue: d1.Add(24 * time.Hour), OpenedAt: d1})
	add("ticket-"+auTic, bob, d1.Add(m), aggregates.TicketRespondedEvent{TicketID: auTic, Body: "hi", First: true, WithinSLA: true,
		RespondedAt: d1.Add(m)})
	add("ticket-"+auTic, bob, d1.Add(2*m), aggregates.TicketResolvedEvent{TicketID: auTic, Resolution: "fixed", WithinSLA: true,
		ResolvedAt: d1.Add(2 * m)})
	// Two events of types this build cannot decode: one on a lead's
	// stream, one on a stream of no known entity.
	add("lead-"+auLead2, alice, d1.Add(3*m), aggregates.LeadQualifiedEvent{LeadID: auLead2})
	out[len(out)-1].Domain, out[len(out)-1].Type = nil, "lead.merged.v1"
	add("mystery-42", alice, d1.Add(4*m), aggregates.LeadQualifiedEvent{LeadID: auLead2})
	out[len(out)-1].Domain, out[len(out)-1].Type = nil, "mystery.happened.v3"
	return out
}

// auditJSON is v as JSON, failing the test when it does not encode.
func auditJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// auditRaw is v as a JSON value.
func auditRaw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// auditSet is a change from null to v.
func auditSet(field string, v any) readmodels.AuditChange {
	return readmodels.AuditChange{Field: field, To: auditRaw(v)}
}

// auditChange is a change from one value to another (nil: null).
func auditChange(field string, from, to any) readmodels.AuditChange {
	c := readmodels.AuditChange{Field: field}
	if from != nil {
		c.From = auditRaw(from)
	}
	if to != nil {
		c.To = auditRaw(to)
	}
	return c
}

// auditEntry is the expected entry of ev, with its metadata.
func auditEntry(ev Event, entityType, entityID, summary string, changes ...readmodels.AuditChange) readmodels.AuditEntry {
	if changes == nil {
		changes = []readmodels.AuditChange{}
	}
	return readmodels.AuditEntry{Position: ev.Cursor.String(), RecordedAt: ev.RecordedAt, Actor: ev.Metadata.Actor,
		EntityType: entityType, EntityID: entityID, EventType: ev.Type, Summary: summary, Changes: changes,
		CommandID: ev.Metadata.CommandID, CorrelationID: ev.Metadata.CorrelationID, CausationID: ev.Metadata.CausationID}
}

// auditAll reads the whole timeline matching f with AuditEach.
func auditAll(t *testing.T, q *readmodels.Queries, f readmodels.AuditFilter) []readmodels.AuditEntry {
	t.Helper()
	var out []readmodels.AuditEntry
	if err := q.AuditEach(context.Background(), f, func(e readmodels.AuditEntry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// auditPositions pages through the timeline matching f with limit and
// returns every position, checking that only the last page has no next
// cursor.
func auditPositions(t *testing.T, q *readmodels.Queries, f readmodels.AuditFilter, limit int) []string {
	t.Helper()
	out := []string{}
	f.Limit, f.Cursor = limit, ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("too many pages")
		}
		page, err := q.Audit(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if page.Items == nil || len(page.Items) > limit {
			t.Fatalf("page of %d items (nil %v) with limit %d", len(page.Items), page.Items == nil, limit)
		}
		for _, e := range page.Items {
			out = append(out, e.Position)
		}
		if page.NextCursor == nil {
			return out
		}
		if len(page.Items) != limit {
			t.Fatalf("a page of %d items (limit %d) has a next cursor", len(page.Items), limit)
		}
		f.Cursor = *page.NextCursor
	}
}

func TestAuditProjection(t *testing.T) {
	events := auditScenario(t)
	for _, n := range []int{0, 1, 4} {
		t.Run(fmt.Sprintf("batch=%d", n), func(t *testing.T) {
			pool := newTestPool(t)
			if n == 0 {
				project(t, pool, NewAudit(), events...)
			} else {
				for i := 0; i < len(events); i += n {
					project(t, pool, NewAudit(), events[i:min(i+n, len(events))]...)
				}
			}
			q := readmodels.New(pool)
			auditCheckEntries(t, q, events)
			auditCheckFilters(t, q, events)
		})
	}
}

// auditCheckEntries checks the exact entries of a selection of events and
// that the timeline has one entry per event, in log order.
func auditCheckEntries(t *testing.T, q *readmodels.Queries, ev []Event) {
	all := auditAll(t, q, readmodels.AuditFilter{})
	if len(all) != len(ev) {
		t.Fatalf("%d entries for %d events", len(all), len(ev))
	}
	for i, e := range all {
		if e.Position != ev[i].Cursor.String() {
			t.Fatalf("entry %d at %s, want %s", i, e.Position, ev[i].Cursor)
		}
	}
	d1 := auT0.Add(24 * time.Hour)
	want := map[int]readmodels.AuditEntry{
		0: auditEntry(ev[0], "lead", auLead, "Lead captured: Ada Lovelace (Engines Ltd)",
			auditSet("name", "Ada Lovelace"), auditSet("company", "Engines Ltd"), auditSet("email", "ada@engines.example"),
			auditSet("source", "web"), auditSet("campaign", "spring"), auditSet("status", "captured")),
		1: auditEntry(ev[1], "lead", auLead, "Lead assigned to owner-a", auditChange("owner_id", nil, "owner-a")),
		2: auditEntry(ev[2], "lead", auLead, "Lead contact attempt 1 by call: reached", auditChange("contact_attempts", 0, 1)),
		3: auditEntry(ev[3], "lead", auLead, "Lead qualified", auditChange("status", "contacted", "qualified")),
		4: auditEntry(ev[4], "lead", auLead, "Lead converted into new account "+auAcc+", contact "+auCon+" and opportunity "+auOpp,
			auditChange("status", "qualified", "converted"), auditSet("account_id", auAcc), auditSet("contact_id", auCon),
			auditSet("opportunity_id", auOpp)),
		5: auditEntry(ev[5], "account", auAcc, "Account opened: Engines Ltd", auditSet("name", "Engines Ltd"), auditSet("tier", "standard")),
		6: auditEntry(ev[6], "contact", auCon, "Contact added to account "+auAcc+": Ada Lovelace",
			auditSet("account_id", auAcc), auditSet("name", "Ada Lovelace"), auditSet("email", "ada@engines.example")),
		7: auditEntry(ev[7], "opportunity", auOpp, "Opportunity opened: Pilot (1000.50 EUR, prospecting)",
			auditSet("account_id", auAcc), auditSet("lead_id", auLead), auditSet("name", "Pilot"), auditSet("amount", "1000.50"),
			auditSet("currency", "EUR"), auditSet("expected_close_date", "2027-03-31"), auditSet("stage", "prospecting"),
			auditSet("probability", 10), auditSet("forecast_category", "pipeline")),
		8: auditEntry(ev[8], "opportunity", auOpp, "Opportunity stage changed from proposal to negotiation",
			auditChange("stage", "proposal", "negotiation"), auditChange("probability", 60, 80),
			auditChange("forecast_category", "best_case", "commit")),
		9: auditEntry(ev[9], "account", auAcc, "Account details changed: industry, owner_id",
			auditChange("industry", nil, "manufacturing"), auditChange("owner_id", "owner-a", "owner-b")),
		10: auditEntry(ev[10], "account", auAcc, "Account tagged: emea, vip", auditChange("tags", nil, "emea"), auditChange("tags", nil, "vip")),
		11: auditEntry(ev[11], "account", auAcc, "Call logged on account: Kick-off",
			auditSet("activity_id", "act-1"), auditSet("kind", "call"), auditSet("subject", "Kick-off")),
		12: auditEntry(ev[12], "ticket", auTic, "Ticket opened: Broken (high, chat)", auditSet("subject", "Broken"),
			auditSet("account_id", auAcc), auditSet("priority", "high"), auditSet("channel", "chat"), auditSet("status", "open"),
			auditSet("first_response_due", d1.Add(4*time.Hour)), auditSet("resolution_due", d1.Add(24*time.Hour))),
		13: auditEntry(ev[13], "ticket", auTic, "First response to ticket (within SLA)", auditSet("first_response_at", d1.Add(time.Minute))),
		14: auditEntry(ev[14], "ticket", auTic, "Ticket resolved (within SLA)", auditChange("status", "open", "resolved"),
			auditSet("resolution", "fixed")),
		15: auditEntry(ev[15], "lead", auLead2, "Event lead.merged.v1 recorded on lead-"+auLead2),
		16: auditEntry(ev[16], "", "mystery-42", "Event mystery.happened.v3 recorded on mystery-42"),
	}
	for i := range len(ev) {
		w, ok := want[i]
		if !ok {
			t.Fatalf("no expected entry for event %d", i)
		}
		if got, exp := auditJSON(t, all[i]), auditJSON(t, w); got != exp {
			t.Errorf("entry %d (%s):\n got %s\nwant %s", i, ev[i].Type, got, exp)
		}
	}
	// Absent values are JSON null; an entry without changes has an empty
	// array.
	if got := auditJSON(t, all[1].Changes); got != `[{"field":"owner_id","from":null,"to":"owner-a"}]` {
		t.Errorf("changes of the assignment: %s", got)
	}
	if got := auditJSON(t, all[15].Changes); got != `[]` {
		t.Errorf("changes of the unknown event: %s", got)
	}
	if all[0].RecordedAt != auT0 || all[0].Actor != "key:alice" || all[0].CommandID != "cmd-lead-"+auLead ||
		all[0].CorrelationID != "corr-lead-"+auLead || all[0].CausationID != "cause-lead-"+auLead {
		t.Errorf("metadata of the first entry: %+v", all[0])
	}
}

// auditCheckFilters checks each filter and pagination against the
// positions of the events it must select.
func auditCheckFilters(t *testing.T, q *readmodels.Queries, ev []Event) {
	ctx := context.Background()
	pos := func(idx ...int) []string {
		out := []string{}
		for _, i := range idx {
			out = append(out, ev[i].Cursor.String())
		}
		return out
	}
	allIdx := make([]int, len(ev))
	for i := range ev {
		allIdx[i] = i
	}
	d1 := auT0.Add(24 * time.Hour)
	for _, c := range []struct {
		name string
		f    readmodels.AuditFilter
		want []string
	}{
		{"all", readmodels.AuditFilter{}, pos(allIdx...)},
		{"lead", readmodels.AuditFilter{EntityType: "lead", EntityID: auLead}, pos(0, 1, 2, 3, 4)},
		{"entity id alone", readmodels.AuditFilter{EntityID: auAcc}, pos(5, 9, 10, 11)},
		{"entity id of another type", readmodels.AuditFilter{EntityType: "ticket", EntityID: auAcc}, pos()},
		{"contacts", readmodels.AuditFilter{EntityType: "contact"}, pos(6)},
		{"leads", readmodels.AuditFilter{EntityType: "lead"}, pos(0, 1, 2, 3, 4, 15)},
		{"actor bob", readmodels.AuditFilter{Actor: "key:bob"}, pos(1, 8, 9, 10, 11, 13, 14)},
		{"actor automation", readmodels.AuditFilter{Actor: "automation:vip"}, pos(12)},
		{"actor unknown", readmodels.AuditFilter{Actor: "key:nobody"}, pos()},
		{"type", readmodels.AuditFilter{Type: "account.tagged.v1"}, pos(10)},
		{"type prefix", readmodels.AuditFilter{Type: "ticket.*"}, pos(12, 13, 14)},
		{"type prefix is literal", readmodels.AuditFilter{Type: "lead_*"}, pos()},
		{"type star", readmodels.AuditFilter{Type: "*"}, pos(allIdx...)},
		{"from", readmodels.AuditFilter{From: d1}, pos(12, 13, 14, 15, 16)},
		{"to", readmodels.AuditFilter{To: auT0.Add(4 * time.Minute)}, pos(0, 1, 2, 3)},
		{"from and to", readmodels.AuditFilter{From: auT0.Add(time.Hour), To: auT0.Add(3 * time.Hour)}, pos(8, 9, 10)},
		{"actor and type", readmodels.AuditFilter{Actor: "key:alice", Type: "lead.*"}, pos(0, 2, 3, 4, 15)},
	} {
		for _, limit := range []int{1, 2, 3, readmodels.MaxLimit} {
			if got := auditPositions(t, q, c.f, limit); !slices.Equal(got, c.want) {
				t.Errorf("%s (limit %d): got %d entries %v, want %d %v", c.name, limit, len(got), got, len(c.want), c.want)
			}
		}
		var each []string
		for _, e := range auditAll(t, q, c.f) {
			each = append(each, e.Position)
		}
		if len(each) != len(c.want) || (len(each) > 0 && !slices.Equal(each, c.want)) {
			t.Errorf("%s (each): got %v, want %v", c.name, each, c.want)
		}
	}

	// The default page size, and an empty page.
	page, err := q.Audit(ctx, readmodels.AuditFilter{})
	if err != nil || len(page.Items) != len(ev) || page.NextCursor != nil {
		t.Errorf("default page: %d items, next %v, err %v", len(page.Items), page.NextCursor, err)
	}
	page, err = q.Audit(ctx, readmodels.AuditFilter{Actor: "key:nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if got := auditJSON(t, page); got != `{"items":[],"next_cursor":null}` {
		t.Errorf("empty page: %s", got)
	}

	// Bad arguments.
	for _, f := range []readmodels.AuditFilter{
		{EntityType: "person"}, {Limit: -1}, {Limit: readmodels.MaxLimit + 1}, {Actor: string(make([]byte, 201))},
		{Actor: "a\x00b"}, {Type: "\xff"}, {From: d1, To: d1}, {Cursor: "nope"},
		{Cursor: "0000000000000000000000000000000G"}, {Cursor: "0000000000000000000000000000000A"},
	} {
		_, err := q.Audit(ctx, f)
		if !errors.Is(err, readmodels.ErrInvalid) {
			t.Errorf("Audit(%+v): err %v, want ErrInvalid", f, err)
		}
		if err := q.AuditEach(ctx, f, func(readmodels.AuditEntry) error { return nil }); !errors.Is(err, readmodels.ErrInvalid) && f.Limit == 0 {
			t.Errorf("AuditEach(%+v): err %v, want ErrInvalid", f, err)
		}
	}
	if _, err := q.Audit(ctx, readmodels.AuditFilter{Cursor: "x"}); !errors.Is(err, readmodels.ErrCursor) {
		t.Errorf("bad cursor: %v, want ErrCursor", err)
	}
}

// TestAuditExportChunks: AuditEach reads a timeline of several chunks
// whole and in order, and stops at the callback's first error.
func TestAuditExportChunks(t *testing.T) {
	seq := newEventSeq(t)
	n := 2*readmodels.AuditExportChunk + 17
	events := make([]Event, n)
	for i := range events {
		id := listsID(listsKindLead, i+1)
		actor := "key:even"
		if i%2 == 1 {
			actor = "key:odd"
		}
		events[i] = seq.ev("lead-"+id, 1, auT0.Add(time.Duration(i)*time.Second), actor, aggregates.LeadCapturedEvent{LeadID: id,
			Name: fmt.Sprintf("Lead %d", i), Company: "Co", Email: fmt.Sprintf("l%d@example.com", i), Source: "web"})
	}
	pool := newTestPool(t)
	for i := 0; i < n; i += 1000 {
		project(t, pool, NewAudit(), events[i:min(i+1000, n)]...)
	}
	q := readmodels.New(pool)
	all := auditAll(t, q, readmodels.AuditFilter{})
	if len(all) != n {
		t.Fatalf("exported %d entries, want %d", len(all), n)
	}
	for i, e := range all {
		if e.Position != events[i].Cursor.String() || e.Summary != fmt.Sprintf("Lead captured: Lead %d (Co)", i) {
			t.Fatalf("entry %d: %s %q", i, e.Position, e.Summary)
		}
	}
	odd := auditAll(t, q, readmodels.AuditFilter{Actor: "key:odd"})
	if len(odd) != n/2 {
		t.Fatalf("exported %d odd entries, want %d", len(odd), n/2)
	}
	for i, e := range odd {
		if e.Position != events[2*i+1].Cursor.String() {
			t.Fatalf("odd entry %d: %s", i, e.Position)
		}
	}
	after := auditAll(t, q, readmodels.AuditFilter{Cursor: events[n-3].Cursor.String()})
	if len(after) != 2 || after[0].Position != events[n-2].Cursor.String() {
		t.Errorf("export after a cursor: %d entries", len(after))
	}
	stop := errors.New("stop")
	seen := 0
	err := q.AuditEach(context.Background(), readmodels.AuditFilter{}, func(readmodels.AuditEntry) error {
		seen++
		if seen == readmodels.AuditExportChunk+5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != readmodels.AuditExportChunk+5 {
		t.Errorf("AuditEach after the callback's error: err %v, %d entries seen", err, seen)
	}
}
