package projections

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"crm/aggregates"
	"crm/readmodels"
)

// listsID is a fixed UUID-shaped id: kind tells entities apart, n orders
// ids of one kind.
func listsID(kind, n int) string { return fmt.Sprintf("%08x-0000-7000-8000-%012d", kind, n) }

const (
	listsKindLead = iota + 1
	listsKindAccount
	listsKindContact
	listsKindOpportunity
	listsKindTicket
)

var (
	lsLead1, lsLead2, lsLead3, lsLead4, lsLead5, lsLead6   = listsID(listsKindLead, 1), listsID(listsKindLead, 2), listsID(listsKindLead, 3), listsID(listsKindLead, 4), listsID(listsKindLead, 5), listsID(listsKindLead, 6)
	lsLead9                                                = listsID(listsKindLead, 9) // its only event has no Domain
	lsLeadGhost                                            = listsID(listsKindLead, 99)
	lsAcc1, lsAcc2, lsAcc3                                 = listsID(listsKindAccount, 1), listsID(listsKindAccount, 2), listsID(listsKindAccount, 3)
	lsCon1, lsCon2, lsCon3, lsCon4                         = listsID(listsKindContact, 1), listsID(listsKindContact, 2), listsID(listsKindContact, 3), listsID(listsKindContact, 4)
	lsOpp1, lsOpp2, lsOpp3, lsOpp4                         = listsID(listsKindOpportunity, 1), listsID(listsKindOpportunity, 2), listsID(listsKindOpportunity, 3), listsID(listsKindOpportunity, 4)
	lsTic1, lsTic2, lsTic3, lsTic4, lsTic5, lsTic6, lsTic7 = listsID(listsKindTicket, 1), listsID(listsKindTicket, 2), listsID(listsKindTicket, 3), listsID(listsKindTicket, 4), listsID(listsKindTicket, 5), listsID(listsKindTicket, 6), listsID(listsKindTicket, 7)
)

// listsT0 is when the scenario starts; listsNow is when it is queried.
var (
	listsT0  = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	listsNow = listsT0.Add(30 * 24 * time.Hour)
)

func listsDay(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// listsScenario is a realistic log: leads worked to every status, one
// converted into an account, contact and opportunity; accounts with
// details, tags and contacts; opportunities won, lost and reopened; tickets
// answered on time and late, resolved, closed, reopened and escalated.
func listsScenario(t *testing.T) []Event {
	seq := newEventSeq(t)
	versions := map[string]int64{}
	var out []Event
	add := func(stream string, at time.Time, e aggregates.Event) {
		versions[stream]++
		out = append(out, seq.ev(stream, versions[stream], at, "key:test", e))
	}
	h := time.Hour
	t0 := listsT0

	// Leads. lsLead6 is captured before lsLead5 in the log, at the same time:
	// the lists order them by id.
	add("lead-"+lsLead1, t0, aggregates.LeadCapturedEvent{LeadID: lsLead1, Name: "Ada Lovelace", Company: "Analytical Engines Ltd",
		Email: "ada@engines.example", Source: "web", Campaign: "spring", Region: "EMEA", CapturedAt: t0})
	add("lead-"+lsLead2, t0.Add(h), aggregates.LeadCapturedEvent{LeadID: lsLead2, Name: "Grace Hopper", Company: "Navy Compilers",
		Email: "grace@navy.example", Phone: "+1 555 0100", Source: "referral", OwnerID: "owner-b", CapturedAt: t0.Add(h)})
	add("lead-"+lsLead3, t0.Add(2*h), aggregates.LeadCapturedEvent{LeadID: lsLead3, Name: "Alan Turing", Company: "Bletchley 100% Park_Ltd",
		Email: "alan@bletchley.example", Source: "web", Campaign: "spring", OwnerID: "owner-a", CapturedAt: t0.Add(2 * h)})
	add("lead-"+lsLead4, t0.Add(3*h), aggregates.LeadCapturedEvent{LeadID: lsLead4, Name: "Katherine Johnson", Company: "NASA",
		Email: "kj@nasa.example", Source: "event", Campaign: "autumn", CapturedAt: t0.Add(3 * h)})
	add("lead-"+lsLead6, t0.Add(4*h), aggregates.LeadCapturedEvent{LeadID: lsLead6, Name: "Barbara Liskov", Company: "MIT",
		Email: "barbara@mit.example", Source: "referral", OwnerID: "owner-a", CapturedAt: t0.Add(4 * h)})
	add("lead-"+lsLead5, t0.Add(4*h), aggregates.LeadCapturedEvent{LeadID: lsLead5, Name: "Edsger Dijkstra", Company: "Eindhoven",
		Email: "ed@tue.example", Source: "web", Campaign: "autumn", OwnerID: "owner-b", CapturedAt: t0.Add(4 * h)})
	// An event this build cannot decode: skipped.
	add("lead-"+lsLead9, t0.Add(5*h), aggregates.LeadCapturedEvent{LeadID: lsLead9, Name: "Unknown", Company: "Unknown",
		Email: "u@unknown.example", Source: "web", CapturedAt: t0.Add(5 * h)})
	out[len(out)-1].Domain = nil
	// An event about a lead the lists never saw captured: skipped.
	add("lead-"+lsLeadGhost, t0.Add(5*h), aggregates.LeadAssignedEvent{LeadID: lsLeadGhost, OwnerID: "owner-a"})

	add("lead-"+lsLead1, t0.Add(6*h), aggregates.LeadAssignedEvent{LeadID: lsLead1, OwnerID: "owner-a"})
	add("lead-"+lsLead1, t0.Add(7*h), aggregates.LeadContactAttemptedEvent{LeadID: lsLead1, Channel: "call", Outcome: "reached",
		AttemptedAt: t0.Add(7 * h), AttemptNumber: 1})
	add("lead-"+lsLead2, t0.Add(7*h), aggregates.LeadContactAttemptedEvent{LeadID: lsLead2, Channel: "email", Outcome: "no_answer",
		AttemptedAt: t0.Add(7 * h), AttemptNumber: 1})
	add("lead-"+lsLead2, t0.Add(8*h), aggregates.LeadContactAttemptedEvent{LeadID: lsLead2, Channel: "call", Outcome: "left_message",
		AttemptedAt: t0.Add(8 * h), AttemptNumber: 2})
	add("lead-"+lsLead3, t0.Add(8*h), aggregates.LeadDisqualifiedEvent{LeadID: lsLead3, Reason: "no budget", PreviousStatus: "captured"})
	add("lead-"+lsLead1, t0.Add(9*h), aggregates.LeadQualifiedEvent{LeadID: lsLead1, PreviousStatus: "contacted"})
	add("lead-"+lsLead5, t0.Add(9*h), aggregates.LeadQualifiedEvent{LeadID: lsLead5, PreviousStatus: "captured"})

	// Accounts and contacts.
	d1 := t0.Add(listsDay(1))
	add("account-"+lsAcc1, d1, aggregates.AccountOpenedEvent{AccountID: lsAcc1, Name: "Acme Corp", Industry: "manufacturing",
		Tier: "vip", OwnerID: "owner-a", OpenedAt: d1})
	add("account-"+lsAcc1, d1.Add(5*time.Minute), aggregates.AccountTaggedEvent{AccountID: lsAcc1, Tags: []string{"emea", "enterprise"}})
	add("account-"+lsAcc1, d1.Add(10*time.Minute), aggregates.ContactAddedEvent{AccountID: lsAcc1, ContactID: lsCon1, Name: "Wile E. Coyote",
		Email: "wile@acme.example", Title: "CTO", AddedAt: d1.Add(10 * time.Minute)})
	add("account-"+lsAcc1, d1.Add(20*time.Minute), aggregates.ContactAddedEvent{AccountID: lsAcc1, ContactID: lsCon2, Name: "Road Runner",
		Email: "beep@acme.example", Role: "decision_maker", AddedAt: d1.Add(20 * time.Minute)})
	add("opportunity-"+lsOpp1, d1.Add(30*time.Minute), aggregates.OpportunityOpenedEvent{OpportunityID: lsOpp1, AccountID: lsAcc1,
		Name: "Acme renewal", Amount: "125000.00", Currency: "EUR", ExpectedCloseDate: "2026-04-30", OwnerID: "owner-a",
		Stage: "prospecting", Probability: 10, ForecastCategory: "pipeline", OpenedAt: d1.Add(30 * time.Minute)})
	add("opportunity-"+lsOpp2, d1.Add(40*time.Minute), aggregates.OpportunityOpenedEvent{OpportunityID: lsOpp2, AccountID: lsAcc1,
		Name: "Acme upsell", Amount: "900000", Currency: "EUR", ExpectedCloseDate: "2026-03-31", OwnerID: "owner-b",
		Stage: "qualification", Probability: 30, ForecastCategory: "pipeline", OpenedAt: d1.Add(40 * time.Minute)})
	add("account-"+lsAcc2, d1.Add(h), aggregates.AccountOpenedEvent{AccountID: lsAcc2, Name: "Globex", Tier: "standard",
		OwnerID: "owner-a", OpenedAt: d1.Add(h)})
	add("account-"+lsAcc2, d1.Add(h), aggregates.AccountTaggedEvent{AccountID: lsAcc2, Tags: []string{"emea"}})
	add("account-"+lsAcc1, d1.Add(90*time.Minute), aggregates.AccountUntaggedEvent{AccountID: lsAcc1, Tags: []string{"emea"}})
	add("account-"+lsAcc1, d1.Add(100*time.Minute), aggregates.AccountTaggedEvent{AccountID: lsAcc1, Tags: []string{"strategic"}})
	add("account-"+lsAcc1, d1.Add(110*time.Minute), aggregates.AccountDetailsChangedEvent{AccountID: lsAcc1, Changes: []aggregates.FieldChange{
		{Field: "name", From: "Acme Corp", To: "Acme Corporation"}, {Field: "owner_id", From: "owner-a", To: "owner-b"}}})
	add("account-"+lsAcc2, d1.Add(2*h), aggregates.ContactAddedEvent{AccountID: lsAcc2, ContactID: lsCon4, Name: "Hank Scorpio",
		Email: "hank@globex.example", AddedAt: d1.Add(2 * h)})
	add("opportunity-"+lsOpp4, d1.Add(3*h), aggregates.OpportunityOpenedEvent{OpportunityID: lsOpp4, AccountID: lsAcc2,
		Name: "Globex deal", Amount: "5000", Currency: "EUR", ExpectedCloseDate: "2026-03-15", OwnerID: "owner-b",
		Stage: "prospecting", Probability: 10, ForecastCategory: "pipeline", OpenedAt: d1.Add(3 * h)})

	// The conversion of lsLead1: a new account, its contact and an
	// opportunity.
	d2 := t0.Add(listsDay(2))
	add("lead-"+lsLead1, d2, aggregates.LeadConvertedEvent{LeadID: lsLead1, AccountID: lsAcc3, NewAccount: true, ContactID: lsCon3,
		OpportunityID: lsOpp3, ConvertedAt: d2})
	add("account-"+lsAcc3, d2, aggregates.AccountOpenedEvent{AccountID: lsAcc3, Name: "Analytical Engines Ltd", Region: "EMEA",
		Tier: "standard", OwnerID: "owner-a", OpenedAt: d2})
	add("account-"+lsAcc3, d2, aggregates.ContactAddedEvent{AccountID: lsAcc3, ContactID: lsCon3, Name: "Ada Lovelace",
		Email: "ada@engines.example", AddedAt: d2})
	add("opportunity-"+lsOpp3, d2, aggregates.OpportunityOpenedEvent{OpportunityID: lsOpp3, AccountID: lsAcc3, LeadID: lsLead1,
		Name: "Engines pilot", Amount: "20000.00", Currency: "USD", ExpectedCloseDate: "2026-06-30", OwnerID: "owner-a",
		Stage: "prospecting", Probability: 10, ForecastCategory: "pipeline", OpenedAt: d2})

	// Opportunities move.
	add("opportunity-"+lsOpp1, d2.Add(h), aggregates.OpportunityStageChangedEvent{OpportunityID: lsOpp1, From: "prospecting", To: "proposal",
		Probability: 60, ForecastCategory: "best_case", ChangedAt: d2.Add(h)})
	add("opportunity-"+lsOpp1, d2.Add(2*h), aggregates.OpportunityAmountChangedEvent{OpportunityID: lsOpp1, FromAmount: "125000.00",
		FromCurrency: "EUR", Amount: "150000.50", Currency: "EUR"})
	add("opportunity-"+lsOpp1, d2.Add(3*h), aggregates.OpportunityCloseDateChangedEvent{OpportunityID: lsOpp1, From: "2026-04-30", To: "2026-05-15"})
	add("opportunity-"+lsOpp2, d2.Add(4*h), aggregates.OpportunityStageChangedEvent{OpportunityID: lsOpp2, From: "qualification",
		To: "negotiation", Probability: 80, ForecastCategory: "commit", ChangedAt: d2.Add(4 * h)})
	add("opportunity-"+lsOpp2, d2.Add(4*h), aggregates.OpportunityApprovalRequestedEvent{OpportunityID: lsOpp2, ApprovalID: "ap-1",
		Reason: "large deal", RequestedAt: d2.Add(4 * h)})
	add("opportunity-"+lsOpp2, d2.Add(5*h), aggregates.OpportunityApprovalGrantedEvent{OpportunityID: lsOpp2, ApprovalID: "ap-1",
		DecidedAt: d2.Add(5 * h)})
	d3 := t0.Add(listsDay(3))
	add("opportunity-"+lsOpp2, d3, aggregates.OpportunityStageChangedEvent{OpportunityID: lsOpp2, From: "negotiation", To: "closed_won",
		Probability: 100, ForecastCategory: "closed", ChangedAt: d3})
	add("opportunity-"+lsOpp4, d3.Add(h), aggregates.OpportunityStageChangedEvent{OpportunityID: lsOpp4, From: "prospecting",
		To: "qualification", Probability: 30, ForecastCategory: "pipeline", ChangedAt: d3.Add(h)})
	d4 := t0.Add(listsDay(4))
	add("opportunity-"+lsOpp4, d4, aggregates.OpportunityStageChangedEvent{OpportunityID: lsOpp4, From: "qualification",
		To: "closed_lost", Probability: 0, ForecastCategory: "omitted", Reason: "price", ChangedAt: d4})
	add("opportunity-"+lsOpp4, d4.Add(listsDay(1)), aggregates.OpportunityReopenedEvent{OpportunityID: lsOpp4, Reason: "budget found",
		FromStage: "closed_lost", ToStage: "qualification", ReopenedAt: d4.Add(listsDay(1))})
	add("account-"+lsAcc1, d4, aggregates.ActivityLoggedEvent{ActivityID: "act-1", EntityType: "account", EntityID: lsAcc1,
		Kind: "call", Subject: "Kick-off", LoggedAt: d4})

	// Tickets.
	ticket := func(id, account, priority, channel string, opened time.Time, fr, res time.Duration) {
		add("ticket-"+id, opened, aggregates.TicketOpenedEvent{TicketID: id, Subject: "Case " + id[len(id)-1:], AccountID: account,
			Priority: priority, Channel: channel, FirstResponseDue: opened.Add(fr), ResolutionDue: opened.Add(res), OpenedAt: opened})
	}
	respond := func(id string, at time.Time, first, within bool) {
		add("ticket-"+id, at, aggregates.TicketRespondedEvent{TicketID: id, Body: "hello", First: first, WithinSLA: within, RespondedAt: at})
	}
	resolve := func(id string, at time.Time, within bool) {
		add("ticket-"+id, at, aggregates.TicketResolvedEvent{TicketID: id, Resolution: "fixed", WithinSLA: within, ResolvedAt: at})
	}
	assign := func(id, assignee string, at time.Time) {
		add("ticket-"+id, at, aggregates.TicketAssignedEvent{TicketID: id, AssigneeID: assignee})
	}
	// lsTic1: answered and resolved on time, closed.
	o1 := t0.Add(listsDay(1))
	ticket(lsTic1, lsAcc1, "urgent", "email", o1, h, 4*h)
	assign(lsTic1, "agent-1", o1.Add(10*time.Minute))
	respond(lsTic1, o1.Add(30*time.Minute), true, true)
	resolve(lsTic1, o1.Add(2*h), true)
	add("ticket-"+lsTic1, o1.Add(3*h), aggregates.TicketClosedEvent{TicketID: lsTic1, ClosedAt: o1.Add(3 * h)})
	// lsTic2: first response late, then a second response; still open.
	o2 := t0.Add(listsDay(2))
	ticket(lsTic2, lsAcc2, "high", "phone", o2, 4*h, 24*h)
	assign(lsTic2, "agent-2", o2.Add(h))
	respond(lsTic2, o2.Add(5*h), true, false)
	respond(lsTic2, o2.Add(6*h), false, false)
	// lsTic4: never answered, no account.
	o4 := t0.Add(listsDay(3))
	ticket(lsTic4, "", "normal", "web", o4, 8*h, 72*h)
	// lsTic5: answered on time, resolved late, rated.
	o5 := t0.Add(listsDay(4))
	ticket(lsTic5, lsAcc1, "normal", "chat", o5, 8*h, 72*h)
	respond(lsTic5, o5.Add(h), true, true)
	resolve(lsTic5, o5.Add(80*h), false)
	add("ticket-"+lsTic5, o5.Add(81*h), aggregates.TicketSatisfactionRecordedEvent{TicketID: lsTic5, Score: 4, RecordedAt: o5.Add(81 * h)})
	// lsTic6: resolved on time, closed, rated, then reopened past its due time.
	o6 := t0.Add(listsDay(5))
	ticket(lsTic6, lsAcc2, "high", "email", o6, 4*h, 24*h)
	assign(lsTic6, "agent-1", o6.Add(10*time.Minute))
	respond(lsTic6, o6.Add(h), true, true)
	resolve(lsTic6, o6.Add(10*h), true)
	add("ticket-"+lsTic6, o6.Add(11*h), aggregates.TicketClosedEvent{TicketID: lsTic6, ClosedAt: o6.Add(11 * h)})
	add("ticket-"+lsTic6, o6.Add(12*h), aggregates.TicketSatisfactionRecordedEvent{TicketID: lsTic6, Score: 5, RecordedAt: o6.Add(12 * h)})
	add("ticket-"+lsTic6, o6.Add(listsDay(2)), aggregates.TicketReopenedEvent{TicketID: lsTic6, Reason: "came back", FromStatus: "closed",
		ReopenedAt: o6.Add(listsDay(2))})
	// lsTic3 and lsTic7: opened just before listsNow, nothing due yet; lsTic7
	// changes priority and is escalated.
	o3 := listsNow.Add(-2 * h)
	ticket(lsTic3, lsAcc1, "low", "web", o3, 24*h, 168*h)
	assign(lsTic3, "agent-2", o3.Add(time.Minute))
	o7 := listsNow.Add(-h)
	ticket(lsTic7, lsAcc2, "low", "chat", o7, 24*h, 168*h)
	add("ticket-"+lsTic7, o7.Add(time.Minute), aggregates.TicketPriorityChangedEvent{TicketID: lsTic7, From: "low", To: "high",
		FirstResponseDue: o7.Add(4 * h), ResolutionDue: o7.Add(24 * h)})
	add("ticket-"+lsTic7, o7.Add(2*time.Minute), aggregates.TicketEscalatedEvent{TicketID: lsTic7, Reason: "vip", Level: 1,
		EscalatedAt: o7.Add(2 * time.Minute)})
	return out
}

// listsProject applies events in batches of size n (all at once when
// n is 0), each in its own transaction.
func listsProject(t *testing.T, n int, events []Event) *readmodels.Queries {
	pool := newTestPool(t)
	// The lists name owners from the users directory.
	project(t, pool, NewDirectory(), events...)
	p := NewLists()
	if n == 0 {
		project(t, pool, p, events...)
	} else {
		for i := 0; i < len(events); i += n {
			project(t, pool, p, events[i:min(i+n, len(events))]...)
		}
	}
	return readmodels.New(pool)
}

// listsLastAt is, per record id, when the scenario's last event on its
// stream was recorded: the updated_at its row must show.
var listsLastAt map[string]time.Time

// listsUpdated checks each row's updated_at against listsLastAt and clears
// it, for the rows to be compared with expectations that leave it out.
func listsUpdated[T any](t *testing.T, rows []T, id func(T) string, at func(*T) *time.Time) []T {
	t.Helper()
	for i := range rows {
		if got, want := *at(&rows[i]), listsLastAt[id(rows[i])]; !got.Equal(want) {
			t.Errorf("%s: updated_at %v, want %v (its stream's last event)", id(rows[i]), got, want)
		}
		*at(&rows[i]) = time.Time{}
	}
	return rows
}

func TestListsProjection(t *testing.T) {
	events := listsScenario(t)
	listsLastAt = map[string]time.Time{}
	for _, e := range events {
		if _, id, ok := strings.Cut(e.StreamID, "-"); ok {
			listsLastAt[id] = e.RecordedAt
		}
	}
	for _, n := range []int{0, 1, 4, 9} {
		t.Run(fmt.Sprintf("batch=%d", n), func(t *testing.T) {
			q := listsProject(t, n, events)
			t.Run("leads", func(t *testing.T) { listsCheckLeads(t, q) })
			t.Run("accounts", func(t *testing.T) { listsCheckAccounts(t, q) })
			t.Run("contacts", func(t *testing.T) { listsCheckContacts(t, q) })
			t.Run("opportunities", func(t *testing.T) { listsCheckOpportunities(t, q) })
			t.Run("tickets", func(t *testing.T) { listsCheckTickets(t, q) })
		})
	}
}

// ids pages through a list with limit and returns every id in order,
// checking that only the last page has no next cursor.
func listsPageIDs[T any](t *testing.T, limit int, list func(cursor string, limit int) (readmodels.Page[T], error), id func(T) string) []string {
	t.Helper()
	out := []string{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("too many pages")
		}
		page, err := list(cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		if page.Items == nil {
			t.Fatal("Items is nil")
		}
		if len(page.Items) > limit {
			t.Fatalf("page of %d items with limit %d", len(page.Items), limit)
		}
		for _, it := range page.Items {
			out = append(out, id(it))
		}
		if page.NextCursor == nil {
			return out
		}
		if len(page.Items) != limit {
			t.Fatalf("a page of %d items (limit %d) has a next cursor", len(page.Items), limit)
		}
		cursor = *page.NextCursor
	}
}

// listsExpectIDs checks list at several page sizes against want.
func listsExpectIDs[T any](t *testing.T, name string, want []string, list func(cursor string, limit int) (readmodels.Page[T], error), id func(T) string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	for _, limit := range []int{1, 2, 3, readmodels.MaxLimit} {
		got := listsPageIDs(t, limit, list, id)
		if !slices.Equal(got, want) {
			t.Errorf("%s (limit %d): got %v, want %v", name, limit, listsShort(got), listsShort(want))
		}
	}
}

// short drops the zeros of listsID ids for readable failures.
func listsShort(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id[6:8] + ":" + strings.TrimLeft(id[24:], "0")
	}
	return out
}

func listsCheckLeads(t *testing.T, q *readmodels.Queries) {
	ctx := context.Background()
	run := func(name string, f readmodels.LeadFilter, want ...string) {
		t.Helper()
		listsExpectIDs(t, name, want, func(cursor string, limit int) (readmodels.Page[readmodels.LeadRow], error) {
			f.Cursor, f.Limit = cursor, limit
			return q.Leads(ctx, f)
		}, func(l readmodels.LeadRow) string { return l.ID })
	}
	run("all", readmodels.LeadFilter{}, lsLead1, lsLead2, lsLead3, lsLead4, lsLead5, lsLead6)
	run("status captured", readmodels.LeadFilter{Status: "captured"}, lsLead4, lsLead6)
	run("status contacted", readmodels.LeadFilter{Status: "contacted"}, lsLead2)
	run("status qualified", readmodels.LeadFilter{Status: "qualified"}, lsLead5)
	run("status disqualified", readmodels.LeadFilter{Status: "disqualified"}, lsLead3)
	run("status converted", readmodels.LeadFilter{Status: "converted"}, lsLead1)
	run("status unknown", readmodels.LeadFilter{Status: "nope"})
	run("owner a", readmodels.LeadFilter{OwnerID: "owner-a"}, lsLead1, lsLead3, lsLead6)
	run("owner b", readmodels.LeadFilter{OwnerID: "owner-b"}, lsLead2, lsLead5)
	run("source web", readmodels.LeadFilter{Source: "web"}, lsLead1, lsLead3, lsLead5)
	run("source referral", readmodels.LeadFilter{Source: "referral"}, lsLead2, lsLead6)
	run("source event", readmodels.LeadFilter{Source: "event"}, lsLead4)
	run("campaign spring", readmodels.LeadFilter{Campaign: "spring"}, lsLead1, lsLead3)
	run("campaign autumn", readmodels.LeadFilter{Campaign: "autumn"}, lsLead4, lsLead5)
	run("web and owner a", readmodels.LeadFilter{Source: "web", OwnerID: "owner-a"}, lsLead1, lsLead3)
	run("q name", readmodels.LeadFilter{Q: "ADA"}, lsLead1)
	run("q company", readmodels.LeadFilter{Q: "navy comp"}, lsLead2)
	run("q email", readmodels.LeadFilter{Q: "mit.example"}, lsLead6)
	run("q email domain", readmodels.LeadFilter{Q: "@tue"}, lsLead5)
	run("q spaces", readmodels.LeadFilter{Q: "  nasa  "}, lsLead4)
	run("q percent is literal", readmodels.LeadFilter{Q: "100%"}, lsLead3)
	run("q lone percent", readmodels.LeadFilter{Q: "%"}, lsLead3)
	run("q underscore is literal", readmodels.LeadFilter{Q: "_"}, lsLead3)
	run("q backslash", readmodels.LeadFilter{Q: `\`})
	run("q and status", readmodels.LeadFilter{Q: "example", Status: "captured"}, lsLead4, lsLead6)
	run("q none", readmodels.LeadFilter{Q: "zzz"})

	page, err := q.Leads(ctx, readmodels.LeadFilter{Status: "converted"})
	if err != nil {
		t.Fatal(err)
	}
	converted := listsT0.Add(listsDay(2))
	want := readmodels.LeadRow{ID: lsLead1, Status: "converted", Name: "Ada Lovelace", Company: "Analytical Engines Ltd",
		Email: "ada@engines.example", Source: "web", Campaign: "spring", Region: "EMEA", OwnerID: "owner-a",
		ContactAttempts: 1, AccountID: lsAcc3, ContactID: lsCon3, OpportunityID: lsOpp3, CapturedAt: listsT0, ConvertedAt: &converted}
	listsUpdated(t, page.Items, func(l readmodels.LeadRow) string { return l.ID }, func(l *readmodels.LeadRow) *time.Time { return &l.UpdatedAt })
	if len(page.Items) != 1 || !reflect.DeepEqual(page.Items[0], want) {
		t.Errorf("converted lead:\n got %+v\nwant %+v", page.Items, want)
	}
	page, err = q.Leads(ctx, readmodels.LeadFilter{Status: "disqualified"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].DisqualificationReason != "no budget" || page.Items[0].ConvertedAt != nil {
		t.Errorf("disqualified lead: %+v", page.Items)
	}
	page, err = q.Leads(ctx, readmodels.LeadFilter{Status: "contacted"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ContactAttempts != 2 || page.Items[0].Phone != "+1 555 0100" {
		t.Errorf("contacted lead: %+v", page.Items)
	}

	// An empty page is {"items": [], "next_cursor": null}.
	page, err = q.Leads(ctx, readmodels.LeadFilter{Q: "zzz"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(page); string(b) != `{"items":[],"next_cursor":null}` {
		t.Errorf("empty page: %s", b)
	}
}

func listsCheckAccounts(t *testing.T, q *readmodels.Queries) {
	ctx := context.Background()
	run := func(name string, f readmodels.AccountFilter, want ...string) {
		t.Helper()
		listsExpectIDs(t, name, want, func(cursor string, limit int) (readmodels.Page[readmodels.AccountRow], error) {
			f.Cursor, f.Limit = cursor, limit
			return q.Accounts(ctx, f)
		}, func(a readmodels.AccountRow) string { return a.ID })
	}
	run("all", readmodels.AccountFilter{}, lsAcc1, lsAcc2, lsAcc3)
	run("owner a", readmodels.AccountFilter{OwnerID: "owner-a"}, lsAcc2, lsAcc3)
	run("owner b", readmodels.AccountFilter{OwnerID: "owner-b"}, lsAcc1)
	run("tier vip", readmodels.AccountFilter{Tier: "vip"}, lsAcc1)
	run("tier standard", readmodels.AccountFilter{Tier: "standard"}, lsAcc2, lsAcc3)
	run("tag emea", readmodels.AccountFilter{Tag: "emea"}, lsAcc2)
	run("tag enterprise", readmodels.AccountFilter{Tag: "enterprise"}, lsAcc1)
	run("tag unknown", readmodels.AccountFilter{Tag: "EMEA"})
	run("q renamed", readmodels.AccountFilter{Q: "corporation"}, lsAcc1)
	run("q", readmodels.AccountFilter{Q: "engines"}, lsAcc3)
	run("q and tier", readmodels.AccountFilter{Q: "l", Tier: "standard"}, lsAcc2, lsAcc3)
	run("q and owner", readmodels.AccountFilter{Q: "globex", OwnerID: "owner-b"})

	page, err := q.Accounts(ctx, readmodels.AccountFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []readmodels.AccountRow{
		{ID: lsAcc1, Name: "Acme Corporation", Industry: "manufacturing", Tier: "vip", OwnerID: "owner-b",
			Tags: []string{"enterprise", "strategic"}, OpenedAt: listsT0.Add(listsDay(1))},
		{ID: lsAcc2, Name: "Globex", Tier: "standard", OwnerID: "owner-a", Tags: []string{"emea"}, OpenedAt: listsT0.Add(listsDay(1) + time.Hour)},
		{ID: lsAcc3, Name: "Analytical Engines Ltd", Region: "EMEA", Tier: "standard", OwnerID: "owner-a", Tags: []string{},
			OpenedAt: listsT0.Add(listsDay(2))},
	}
	listsUpdated(t, page.Items, func(a readmodels.AccountRow) string { return a.ID }, func(a *readmodels.AccountRow) *time.Time { return &a.UpdatedAt })
	if !reflect.DeepEqual(page.Items, want) {
		t.Errorf("accounts:\n got %+v\nwant %+v", page.Items, want)
	}
	if b, _ := json.Marshal(page.Items[2]); !strings.Contains(string(b), `"tags":[]`) {
		t.Errorf("account without tags: %s", b)
	}
}

func listsCheckContacts(t *testing.T, q *readmodels.Queries) {
	ctx := context.Background()
	run := func(name string, f readmodels.ContactFilter, want ...string) {
		t.Helper()
		listsExpectIDs(t, name, want, func(cursor string, limit int) (readmodels.Page[readmodels.ContactRow], error) {
			f.Cursor, f.Limit = cursor, limit
			return q.Contacts(ctx, f)
		}, func(c readmodels.ContactRow) string { return c.ID })
	}
	run("all", readmodels.ContactFilter{}, lsCon1, lsCon2, lsCon4, lsCon3)
	run("account 1", readmodels.ContactFilter{AccountID: lsAcc1}, lsCon1, lsCon2)
	run("account 2", readmodels.ContactFilter{AccountID: lsAcc2}, lsCon4)
	run("account 3", readmodels.ContactFilter{AccountID: lsAcc3}, lsCon3)
	run("q email domain", readmodels.ContactFilter{Q: "ACME.example"}, lsCon1, lsCon2)
	run("q name", readmodels.ContactFilter{Q: "scorpio"}, lsCon4)
	run("q and account", readmodels.ContactFilter{Q: "runner", AccountID: lsAcc1}, lsCon2)
	run("q other account", readmodels.ContactFilter{Q: "runner", AccountID: lsAcc2})

	page, err := q.Contacts(ctx, readmodels.ContactFilter{AccountID: lsAcc1})
	if err != nil {
		t.Fatal(err)
	}
	want := []readmodels.ContactRow{
		{ID: lsCon1, AccountID: lsAcc1, Name: "Wile E. Coyote", Email: "wile@acme.example", Title: "CTO", AddedAt: listsT0.Add(listsDay(1) + 10*time.Minute)},
		{ID: lsCon2, AccountID: lsAcc1, Name: "Road Runner", Email: "beep@acme.example", Role: "decision_maker", AddedAt: listsT0.Add(listsDay(1) + 20*time.Minute)},
	}
	if !reflect.DeepEqual(page.Items, want) {
		t.Errorf("contacts:\n got %+v\nwant %+v", page.Items, want)
	}
}

func listsCheckOpportunities(t *testing.T, q *readmodels.Queries) {
	ctx := context.Background()
	run := func(name string, f readmodels.OpportunityFilter, want ...string) {
		t.Helper()
		listsExpectIDs(t, name, want, func(cursor string, limit int) (readmodels.Page[readmodels.OpportunityRow], error) {
			f.Cursor, f.Limit = cursor, limit
			return q.Opportunities(ctx, f)
		}, func(o readmodels.OpportunityRow) string { return o.ID })
	}
	run("all", readmodels.OpportunityFilter{}, lsOpp1, lsOpp2, lsOpp4, lsOpp3)
	run("stage proposal", readmodels.OpportunityFilter{Stage: "proposal"}, lsOpp1)
	run("stage closed_won", readmodels.OpportunityFilter{Stage: "closed_won"}, lsOpp2)
	run("stage qualification (reopened)", readmodels.OpportunityFilter{Stage: "qualification"}, lsOpp4)
	run("stage closed_lost", readmodels.OpportunityFilter{Stage: "closed_lost"})
	run("stage prospecting", readmodels.OpportunityFilter{Stage: "prospecting"}, lsOpp3)
	run("owner a", readmodels.OpportunityFilter{OwnerID: "owner-a"}, lsOpp1, lsOpp3)
	run("owner b", readmodels.OpportunityFilter{OwnerID: "owner-b"}, lsOpp2, lsOpp4)
	run("account 1", readmodels.OpportunityFilter{AccountID: lsAcc1}, lsOpp1, lsOpp2)
	run("account 2", readmodels.OpportunityFilter{AccountID: lsAcc2}, lsOpp4)
	run("account 3", readmodels.OpportunityFilter{AccountID: lsAcc3}, lsOpp3)
	run("closing before Apr", readmodels.OpportunityFilter{ClosingBefore: "2026-04-01"}, lsOpp2, lsOpp4)
	run("closing before the 31st is strict", readmodels.OpportunityFilter{ClosingBefore: "2026-03-31"}, lsOpp4)
	run("closing before the moved date", readmodels.OpportunityFilter{ClosingBefore: "2026-05-15"}, lsOpp2, lsOpp4)
	run("closing before after it", readmodels.OpportunityFilter{ClosingBefore: "2026-05-16"}, lsOpp1, lsOpp2, lsOpp4)
	run("owner b closing soon", readmodels.OpportunityFilter{OwnerID: "owner-b", ClosingBefore: "2026-03-20"}, lsOpp4)

	page, err := q.Opportunities(ctx, readmodels.OpportunityFilter{})
	if err != nil {
		t.Fatal(err)
	}
	won := listsT0.Add(listsDay(3))
	d1 := listsT0.Add(listsDay(1))
	want := []readmodels.OpportunityRow{
		{ID: lsOpp1, AccountID: lsAcc1, Name: "Acme renewal", Amount: "150000.50", Currency: "EUR", ExpectedCloseDate: "2026-05-15",
			OwnerID: "owner-a", Stage: "proposal", Probability: 60, ForecastCategory: "best_case", OpenedAt: d1.Add(30 * time.Minute)},
		{ID: lsOpp2, AccountID: lsAcc1, Name: "Acme upsell", Amount: "900000", Currency: "EUR", ExpectedCloseDate: "2026-03-31",
			OwnerID: "owner-b", Stage: "closed_won", Probability: 100, ForecastCategory: "closed", IsClosed: true,
			OpenedAt: d1.Add(40 * time.Minute), ClosedAt: &won},
		{ID: lsOpp4, AccountID: lsAcc2, Name: "Globex deal", Amount: "5000", Currency: "EUR", ExpectedCloseDate: "2026-03-15",
			OwnerID: "owner-b", Stage: "qualification", Probability: 30, ForecastCategory: "pipeline", OpenedAt: d1.Add(3 * time.Hour)},
		{ID: lsOpp3, AccountID: lsAcc3, LeadID: lsLead1, Name: "Engines pilot", Amount: "20000.00", Currency: "USD",
			ExpectedCloseDate: "2026-06-30", OwnerID: "owner-a", Stage: "prospecting", Probability: 10, ForecastCategory: "pipeline",
			OpenedAt: listsT0.Add(listsDay(2))},
	}
	listsUpdated(t, page.Items, func(o readmodels.OpportunityRow) string { return o.ID }, func(o *readmodels.OpportunityRow) *time.Time { return &o.UpdatedAt })
	if !reflect.DeepEqual(page.Items, want) {
		t.Errorf("opportunities:\n got %+v\nwant %+v", page.Items, want)
	}
	b, _ := json.Marshal(page.Items[0])
	for _, s := range []string{`"amount":"150000.50"`, `"expected_close_date":"2026-05-15"`, `"closed_at":null`, `"id":"` + lsOpp1 + `"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("opportunity JSON %s lacks %s", b, s)
		}
	}
}

func listsCheckTickets(t *testing.T, q *readmodels.Queries) {
	ctx := context.Background()
	yes, no := true, false
	run := func(name string, f readmodels.TicketFilter, want ...string) {
		t.Helper()
		if f.Now.IsZero() {
			f.Now = listsNow
		}
		listsExpectIDs(t, name, want, func(cursor string, limit int) (readmodels.Page[readmodels.TicketRow], error) {
			f.Cursor, f.Limit = cursor, limit
			return q.Tickets(ctx, f)
		}, func(r readmodels.TicketRow) string { return r.ID })
	}
	run("all", readmodels.TicketFilter{}, lsTic1, lsTic2, lsTic4, lsTic5, lsTic6, lsTic3, lsTic7)
	run("status open", readmodels.TicketFilter{Status: "open"}, lsTic2, lsTic4, lsTic6, lsTic3, lsTic7)
	run("status resolved", readmodels.TicketFilter{Status: "resolved"}, lsTic5)
	run("status closed", readmodels.TicketFilter{Status: "closed"}, lsTic1)
	run("priority urgent", readmodels.TicketFilter{Priority: "urgent"}, lsTic1)
	run("priority high (changed)", readmodels.TicketFilter{Priority: "high"}, lsTic2, lsTic6, lsTic7)
	run("priority normal", readmodels.TicketFilter{Priority: "normal"}, lsTic4, lsTic5)
	run("priority low", readmodels.TicketFilter{Priority: "low"}, lsTic3)
	run("assignee 1", readmodels.TicketFilter{AssigneeID: "agent-1"}, lsTic1, lsTic6)
	run("assignee 2", readmodels.TicketFilter{AssigneeID: "agent-2"}, lsTic2, lsTic3)
	run("account 1", readmodels.TicketFilter{AccountID: lsAcc1}, lsTic1, lsTic5, lsTic3)
	run("account 2", readmodels.TicketFilter{AccountID: lsAcc2}, lsTic2, lsTic6, lsTic7)
	run("breached", readmodels.TicketFilter{Breached: &yes}, lsTic2, lsTic4, lsTic5, lsTic6)
	run("not breached", readmodels.TicketFilter{Breached: &no}, lsTic1, lsTic3, lsTic7)
	run("breached and open", readmodels.TicketFilter{Breached: &yes, Status: "open"}, lsTic2, lsTic4, lsTic6)
	run("breached on account 1", readmodels.TicketFilter{Breached: &yes, AccountID: lsAcc1}, lsTic5)
	// lsTic4's first response is due at day 3 + 8 h; lsTic6's resolution at
	// day 6.
	run("breached before lsTic4's due time", readmodels.TicketFilter{Breached: &yes, Now: listsT0.Add(listsDay(3) + 7*time.Hour)}, lsTic2, lsTic5)
	run("breached after lsTic4's due time", readmodels.TicketFilter{Breached: &yes, Now: listsT0.Add(listsDay(3) + 9*time.Hour)}, lsTic2, lsTic4, lsTic5)
	run("breached at the due time is not", readmodels.TicketFilter{Breached: &yes, Now: listsT0.Add(listsDay(3) + 8*time.Hour)}, lsTic2, lsTic5)

	page, err := q.Tickets(ctx, readmodels.TicketFilter{AccountID: lsAcc2, Now: listsNow})
	if err != nil {
		t.Fatal(err)
	}
	o2, o6, o7 := listsT0.Add(listsDay(2)), listsT0.Add(listsDay(5)), listsNow.Add(-time.Hour)
	fr2, fr6 := o2.Add(5*time.Hour), o6.Add(time.Hour)
	want := []readmodels.TicketRow{
		{ID: lsTic2, Subject: "Case 2", AccountID: lsAcc2, Priority: "high", Channel: "phone", Status: "open", AssigneeID: "agent-2",
			FirstResponseDue: o2.Add(4 * time.Hour), ResolutionDue: o2.Add(24 * time.Hour), FirstResponseAt: &fr2,
			FirstResponseBreached: true, Breached: true, OpenedAt: o2},
		{ID: lsTic6, Subject: "Case 6", AccountID: lsAcc2, Priority: "high", Channel: "email", Status: "open", AssigneeID: "agent-1",
			FirstResponseDue: o6.Add(4 * time.Hour), ResolutionDue: o6.Add(24 * time.Hour), FirstResponseAt: &fr6,
			Breached: true, OpenedAt: o6},
		{ID: lsTic7, Subject: "Case 7", AccountID: lsAcc2, Priority: "high", Channel: "chat", Status: "open", EscalationLevel: 1,
			FirstResponseDue: o7.Add(4 * time.Hour), ResolutionDue: o7.Add(24 * time.Hour), OpenedAt: o7},
	}
	listsUpdated(t, page.Items, func(r readmodels.TicketRow) string { return r.ID }, func(r *readmodels.TicketRow) *time.Time { return &r.UpdatedAt })
	if !reflect.DeepEqual(page.Items, want) {
		t.Errorf("tickets of account 2:\n got %+v\nwant %+v", page.Items, want)
	}
	page, err = q.Tickets(ctx, readmodels.TicketFilter{Status: "resolved", Now: listsNow})
	if err != nil {
		t.Fatal(err)
	}
	o5 := listsT0.Add(listsDay(4))
	fr5, res5 := o5.Add(time.Hour), o5.Add(80*time.Hour)
	four := 4
	want5 := readmodels.TicketRow{ID: lsTic5, Subject: "Case 5", AccountID: lsAcc1, Priority: "normal", Channel: "chat", Status: "resolved",
		FirstResponseDue: o5.Add(8 * time.Hour), ResolutionDue: o5.Add(72 * time.Hour), FirstResponseAt: &fr5, ResolvedAt: &res5,
		ResolutionBreached: true, Breached: true, Satisfaction: &four, OpenedAt: o5}
	listsUpdated(t, page.Items, func(r readmodels.TicketRow) string { return r.ID }, func(r *readmodels.TicketRow) *time.Time { return &r.UpdatedAt })
	if len(page.Items) != 1 || !reflect.DeepEqual(page.Items[0], want5) {
		t.Errorf("resolved ticket:\n got %+v\nwant %+v", page.Items, want5)
	}
	page, err = q.Tickets(ctx, readmodels.TicketFilter{Status: "closed", Now: listsNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ClosedAt == nil || page.Items[0].ResolvedAt == nil || page.Items[0].Breached {
		t.Errorf("closed ticket: %+v", page.Items)
	}
}

func TestListsBadArguments(t *testing.T) {
	q := listsProject(t, 0, listsScenario(t))
	ctx := context.Background()
	page, err := q.Leads(ctx, readmodels.LeadFilter{Limit: 2})
	if err != nil || page.NextCursor == nil {
		t.Fatalf("first page: %v, %+v", err, page)
	}
	// A cursor survives a round trip through a URL unchanged.
	if strings.ContainsAny(*page.NextCursor, "+/=") {
		t.Errorf("cursor %q is not base64url without padding", *page.NextCursor)
	}
	for _, c := range []string{
		"!!!",
		(*page.NextCursor)[1:],
		base64.RawURLEncoding.EncodeToString([]byte("garbage")),
		base64.RawURLEncoding.EncodeToString([]byte("2026-03-02T09:00:00Z|")),
		base64.RawURLEncoding.EncodeToString([]byte("yesterday|" + lsLead1)),
		base64.RawURLEncoding.EncodeToString([]byte("2026-03-02T09:00:00Z|a\x00b")),
	} {
		for name, call := range map[string]func() error{
			"leads":         func() error { _, err := q.Leads(ctx, readmodels.LeadFilter{Cursor: c}); return err },
			"accounts":      func() error { _, err := q.Accounts(ctx, readmodels.AccountFilter{Cursor: c}); return err },
			"contacts":      func() error { _, err := q.Contacts(ctx, readmodels.ContactFilter{Cursor: c}); return err },
			"opportunities": func() error { _, err := q.Opportunities(ctx, readmodels.OpportunityFilter{Cursor: c}); return err },
			"tickets":       func() error { _, err := q.Tickets(ctx, readmodels.TicketFilter{Cursor: c}); return err },
		} {
			err := call()
			if !errors.Is(err, readmodels.ErrInvalid) || !errors.Is(err, readmodels.ErrCursor) || !strings.Contains(err.Error(), "cursor") {
				t.Errorf("%s with cursor %q: %v, want ErrCursor", name, c, err)
			}
		}
	}
	for name, call := range map[string]func() error{
		"limit too big": func() error {
			_, err := q.Leads(ctx, readmodels.LeadFilter{Limit: readmodels.MaxLimit + 1})
			return err
		},
		"limit negative": func() error {
			_, err := q.Accounts(ctx, readmodels.AccountFilter{Limit: -1})
			return err
		},
		"impossible date": func() error {
			_, err := q.Opportunities(ctx, readmodels.OpportunityFilter{ClosingBefore: "2026-02-30"})
			return err
		},
		"not a date": func() error {
			_, err := q.Opportunities(ctx, readmodels.OpportunityFilter{ClosingBefore: "soon"})
			return err
		},
		"NUL in q":     func() error { _, err := q.Contacts(ctx, readmodels.ContactFilter{Q: "a\x00"}); return err },
		"bad UTF-8":    func() error { _, err := q.Leads(ctx, readmodels.LeadFilter{OwnerID: "\xff"}); return err },
		"long q":       func() error { _, err := q.Leads(ctx, readmodels.LeadFilter{Q: strings.Repeat("a", 201)}); return err },
		"NUL in a tag": func() error { _, err := q.Accounts(ctx, readmodels.AccountFilter{Tag: "\x00"}); return err },
	} {
		if err := call(); !errors.Is(err, readmodels.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	// A cursor from one filter used with another still pages by position.
	page, err = q.Leads(ctx, readmodels.LeadFilter{Cursor: *page.NextCursor, Source: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if got := listsShort(listsLeadIDs(page.Items)); !slices.Equal(got, listsShort([]string{lsLead3, lsLead5})) {
		t.Errorf("web leads after the first two: %v", got)
	}
}

func listsLeadIDs(leads []readmodels.LeadRow) []string {
	out := make([]string, len(leads))
	for i, l := range leads {
		out[i] = l.ID
	}
	return out
}

// TestListsRebuildSameBytes checks invariant 1 for the lists: replaying
// the log in different batch sizes gives byte-identical answers.
func TestListsRebuildSameBytes(t *testing.T) {
	events := listsScenario(t)
	ctx := context.Background()
	dump := func(q *readmodels.Queries) string {
		var b strings.Builder
		for _, v := range []func() (any, error){
			func() (any, error) { return q.Leads(ctx, readmodels.LeadFilter{Limit: readmodels.MaxLimit}) },
			func() (any, error) { return q.Accounts(ctx, readmodels.AccountFilter{Limit: readmodels.MaxLimit}) },
			func() (any, error) { return q.Contacts(ctx, readmodels.ContactFilter{Limit: readmodels.MaxLimit}) },
			func() (any, error) {
				return q.Opportunities(ctx, readmodels.OpportunityFilter{Limit: readmodels.MaxLimit})
			},
			func() (any, error) {
				return q.Tickets(ctx, readmodels.TicketFilter{Now: listsNow, Limit: readmodels.MaxLimit})
			},
		} {
			page, err := v()
			if err != nil {
				t.Fatal(err)
			}
			j, _ := json.Marshal(page)
			b.Write(j)
			b.WriteByte('\n')
		}
		return b.String()
	}
	whole := dump(listsProject(t, 0, events))
	if byOne := dump(listsProject(t, 1, events)); byOne != whole {
		t.Errorf("one event per batch differs:\n%s\nvs\n%s", byOne, whole)
	}
	if !strings.Contains(whole, `"captured_at":"2026-03-02T09:00:00Z"`) {
		t.Errorf("times are not RFC 3339 UTC: %s", whole)
	}
}

// TestListsSortOrders pages through every list in every order it offers,
// two rows at a time, and checks the order against the rows sorted here.
func TestListsSortOrders(t *testing.T) {
	q := listsProject(t, 4, listsScenario(t))
	ctx := context.Background()
	rank := map[string]int{"urgent": 0, "high": 1, "normal": 2, "low": 3}
	amount := func(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }
	checkSorts(t, "leads", readmodels.LeadSorts, func(sort, cursor string, limit int) (readmodels.Page[readmodels.LeadRow], error) {
		return q.Leads(ctx, readmodels.LeadFilter{Sort: sort, Cursor: cursor, Limit: limit})
	}, func(l readmodels.LeadRow) string { return l.ID }, map[string]func(a, b readmodels.LeadRow) int{
		"created": func(a, b readmodels.LeadRow) int { return a.CapturedAt.Compare(b.CapturedAt) },
		"updated": func(a, b readmodels.LeadRow) int { return a.UpdatedAt.Compare(b.UpdatedAt) },
		"name":    func(a, b readmodels.LeadRow) int { return strings.Compare(a.Name, b.Name) },
		"score":   func(a, b readmodels.LeadRow) int { return cmp.Compare(a.Score, b.Score) },
	})
	checkSorts(t, "accounts", readmodels.AccountSorts, func(sort, cursor string, limit int) (readmodels.Page[readmodels.AccountRow], error) {
		return q.Accounts(ctx, readmodels.AccountFilter{Sort: sort, Cursor: cursor, Limit: limit})
	}, func(a readmodels.AccountRow) string { return a.ID }, map[string]func(a, b readmodels.AccountRow) int{
		"created": func(a, b readmodels.AccountRow) int { return a.OpenedAt.Compare(b.OpenedAt) },
		"updated": func(a, b readmodels.AccountRow) int { return a.UpdatedAt.Compare(b.UpdatedAt) },
		"name":    func(a, b readmodels.AccountRow) int { return strings.Compare(a.Name, b.Name) },
	})
	checkSorts(t, "contacts", readmodels.ContactSorts, func(sort, cursor string, limit int) (readmodels.Page[readmodels.ContactRow], error) {
		return q.Contacts(ctx, readmodels.ContactFilter{Sort: sort, Cursor: cursor, Limit: limit})
	}, func(c readmodels.ContactRow) string { return c.ID }, map[string]func(a, b readmodels.ContactRow) int{
		"created": func(a, b readmodels.ContactRow) int { return a.AddedAt.Compare(b.AddedAt) },
		"name":    func(a, b readmodels.ContactRow) int { return strings.Compare(a.Name, b.Name) },
	})
	checkSorts(t, "opportunities", readmodels.OpportunitySorts, func(sort, cursor string, limit int) (readmodels.Page[readmodels.OpportunityRow], error) {
		return q.Opportunities(ctx, readmodels.OpportunityFilter{Sort: sort, Cursor: cursor, Limit: limit})
	}, func(o readmodels.OpportunityRow) string { return o.ID }, map[string]func(a, b readmodels.OpportunityRow) int{
		"created": func(a, b readmodels.OpportunityRow) int { return a.OpenedAt.Compare(b.OpenedAt) },
		"updated": func(a, b readmodels.OpportunityRow) int { return a.UpdatedAt.Compare(b.UpdatedAt) },
		"amount":  func(a, b readmodels.OpportunityRow) int { return cmp.Compare(amount(a.Amount), amount(b.Amount)) },
		"close_date": func(a, b readmodels.OpportunityRow) int {
			return strings.Compare(a.ExpectedCloseDate, b.ExpectedCloseDate)
		},
		"name": func(a, b readmodels.OpportunityRow) int { return strings.Compare(a.Name, b.Name) },
	})
	checkSorts(t, "tickets", readmodels.TicketSorts, func(sort, cursor string, limit int) (readmodels.Page[readmodels.TicketRow], error) {
		return q.Tickets(ctx, readmodels.TicketFilter{Sort: sort, Cursor: cursor, Limit: limit, Now: listsNow})
	}, func(r readmodels.TicketRow) string { return r.ID }, map[string]func(a, b readmodels.TicketRow) int{
		"created":  func(a, b readmodels.TicketRow) int { return a.OpenedAt.Compare(b.OpenedAt) },
		"updated":  func(a, b readmodels.TicketRow) int { return a.UpdatedAt.Compare(b.UpdatedAt) },
		"priority": func(a, b readmodels.TicketRow) int { return cmp.Compare(rank[a.Priority], rank[b.Priority]) },
		"due":      func(a, b readmodels.TicketRow) int { return a.ResolutionDue.Compare(b.ResolutionDue) },
	})

	// A cursor of one order is refused by another; an unknown order is
	// refused naming the orders.
	page, err := q.Leads(ctx, readmodels.LeadFilter{Sort: "name", Limit: 1})
	if err != nil || page.NextCursor == nil {
		t.Fatalf("first page by name: %v %v", page, err)
	}
	if _, err := q.Leads(ctx, readmodels.LeadFilter{Sort: "-name", Cursor: *page.NextCursor}); !errors.Is(err, readmodels.ErrCursor) {
		t.Errorf("a name cursor under -name: %v, want ErrCursor", err)
	}
	if _, err := q.Leads(ctx, readmodels.LeadFilter{Sort: "priority"}); !errors.Is(err, readmodels.ErrInvalid) ||
		!strings.Contains(err.Error(), "created, updated, name") {
		t.Errorf("unknown sort: %v", err)
	}
}

// checkSorts checks one list in every order of sorts, each ascending and
// descending, against compare (ties by id).
func checkSorts[T any](t *testing.T, name string, sorts []string, list func(sort, cursor string, limit int) (readmodels.Page[T], error),
	id func(T) string, compare map[string]func(a, b T) int) {
	t.Helper()
	all, err := list("", "", readmodels.MaxLimit)
	if err != nil || all.NextCursor != nil || len(all.Items) < 3 {
		t.Fatalf("%s: all rows: %d %v", name, len(all.Items), err)
	}
	if len(sorts) != len(compare) {
		t.Fatalf("%s: %d orders, %d checked", name, len(sorts), len(compare))
	}
	for _, key := range sorts {
		for _, desc := range []bool{false, true} {
			sort := key
			rows := slices.Clone(all.Items)
			slices.SortStableFunc(rows, func(a, b T) int {
				c := cmp.Or(compare[key](a, b), strings.Compare(id(a), id(b)))
				if desc {
					return -c
				}
				return c
			})
			if desc {
				sort = "-" + key
			}
			want := make([]string, len(rows))
			for i, r := range rows {
				want[i] = id(r)
			}
			got := listsPageIDs(t, 2, func(cursor string, limit int) (readmodels.Page[T], error) { return list(sort, cursor, limit) }, id)
			if !slices.Equal(got, want) {
				t.Errorf("%s sorted by %s:\n got %v\nwant %v", name, sort, listsShort(got), listsShort(want))
			}
		}
	}
}

// TestListsShowTheLeadScore: a score, recorded on the lead's score stream,
// shows in the lead's row and sorts it, and does not make the lead
// updated (a derived value, not a change by a person or a command).
func TestListsShowTheLeadScore(t *testing.T) {
	seq := newEventSeq(t)
	t0 := time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC)
	var events []Event
	for i, score := range []int{40, 70, 10} {
		id := listsID(9, i+1)
		events = append(events,
			seq.ev("lead-"+id, 1, t0.Add(time.Duration(i)*time.Minute), "sales", aggregates.LeadCapturedEvent{LeadID: id, Name: fmt.Sprintf("Lead %d", i),
				Company: "Co", Email: fmt.Sprintf("l%d@example.com", i), Source: "web", CapturedAt: t0.Add(time.Duration(i) * time.Minute)}),
			seq.ev("lead_score-"+id, 1, t0.Add(time.Hour), "automation:scoring", aggregates.LeadScoredEvent{LeadID: id, Score: score}))
	}
	q := listsProject(t, 2, events)
	page, err := q.Leads(context.Background(), readmodels.LeadFilter{Sort: "-score"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range page.Items {
		got = append(got, fmt.Sprintf("%s=%d", l.Name, l.Score))
		if !l.UpdatedAt.Equal(l.CapturedAt) {
			t.Errorf("%s: updated_at %v moved with the score (captured %v)", l.Name, l.UpdatedAt, l.CapturedAt)
		}
	}
	if want := []string{"Lead 1=70", "Lead 0=40", "Lead 2=10"}; !slices.Equal(got, want) {
		t.Errorf("leads by -score: %v, want %v", got, want)
	}
}
