package workflows_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"crm/aggregates"
	"crm/eventstore"
	"crm/workflows"
)

func TestAssignmentAlternatesWithinARule(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusBadRequest, e.do("manager", "PUT", "/v1/automation/assignment", map[string]any{"rules": []any{map[string]any{"owners": []string{}}}}))
	e.must(http.StatusForbidden, e.do("sales", "PUT", "/v1/automation/assignment", map[string]any{"rules": []any{}}))
	for _, bad := range []any{[]any{}, map[string]any{"rules": "x"}, map[string]any{"bogus": 1}, map[string]any{"rules": []any{map[string]any{"owners": []string{"a"}, "strategy": "random"}}}} {
		r := e.must(http.StatusBadRequest, e.do("manager", "PUT", "/v1/automation/assignment", bad))
		if errs, _ := r.body["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] == "" {
			t.Fatalf("%v: %s", bad, r.raw)
		}
	}
	u1, u2, d1, chosen := e.user("Una One"), e.user("Udo Two"), e.user("Dee Fault"), e.user("Cho Sen")
	// Owners must be active users: each unknown one is named.
	r := e.must(http.StatusBadRequest, e.do("manager", "PUT", "/v1/automation/assignment", map[string]any{
		"rules": []any{map[string]any{"owners": []string{u1, uuid.NewString()}}}, "default_owners": []string{"d1"}}))
	if errs, _ := r.body["errors"].([]any); len(errs) != 2 {
		t.Fatalf("unknown owners: %s", r.raw)
	}
	e.must(http.StatusOK, e.do("manager", "PUT", "/v1/automation/assignment", map[string]any{
		"rules":          []any{map[string]any{"match": map[string]any{"region": "EMEA"}, "owners": []string{u1, u2}, "strategy": "round_robin"}},
		"default_owners": []string{d1}}))
	got := e.must(http.StatusOK, e.do("manager", "GET", "/v1/automation/assignment", nil))
	if rules, _ := got.body["rules"].([]any); len(rules) != 1 {
		t.Fatalf("rules read back: %s", got.raw)
	}
	var leads []string
	for range 4 {
		leads = append(leads, e.lead(map[string]any{"region": "emea"}))
	}
	other := e.lead(map[string]any{"region": "APAC"})
	owned := e.lead(map[string]any{"region": "EMEA", "owner_id": chosen})
	// Leads captured close together may be handled concurrently and take
	// their turns in either order; the turns alternate evenly.
	turns := map[any]int{}
	for _, id := range leads {
		e.eventually("lead "+id+" assigned", func() bool { return len(e.eventsOf("leads", id, "lead.assigned.v1")) == 1 })
		ev := e.eventsOf("leads", id, "lead.assigned.v1")[0]
		turns[ev["data"].(map[string]any)["owner_id"]]++
		captured := e.eventsOf("leads", id, "lead.captured.v1")[0]
		if meta(ev, "actor") != "automation:assignment" || meta(ev, "causation_id") != captured["id"] {
			t.Fatalf("assignment metadata %v, captured event %v", ev["metadata"], captured["id"])
		}
	}
	if len(turns) != 2 || turns[u1] != 2 || turns[u2] != 2 {
		t.Fatalf("four leads went to %v, want two each to u1 and u2", turns)
	}
	e.eventually("default owner", func() bool { return len(e.eventsOf("leads", other, "lead.assigned.v1")) == 1 })
	if o := e.must(http.StatusOK, e.do("admin", "GET", "/v1/leads/"+other, nil)).str("owner_id"); o != d1 {
		t.Fatalf("unmatched lead owner %q, want the default d1", o)
	}
	// A lead captured with an owner keeps it: wait until the automations
	// have passed it, then look.
	e.eventually("lead scored", func() bool { return len(e.eventsOf("leads", owned, "lead.scored.v1")) == 1 })
	if n := len(e.eventsOf("leads", owned, "lead.assigned.v1")); n != 0 {
		t.Fatalf("owned lead reassigned %d times", n)
	}
}

func TestLeadScoreOnCaptureAndContactAttempts(t *testing.T) {
	e := newEnv(t)
	id := e.lead(map[string]any{"source": "referral", "company_size": "1000-5000", "phone": "+44 20 7946 0000"})
	e.eventually("scored", func() bool { return len(e.eventsOf("leads", id, "lead.scored.v1")) == 1 })
	if s := e.must(http.StatusOK, e.do("admin", "GET", "/v1/leads/"+id, nil)).body["score"]; s != float64(30+25+5) {
		t.Fatalf("score %v, want 60", s)
	}
	e.must(http.StatusOK, e.do("sales", "POST", "/v1/leads/"+id+"/contact-attempts", map[string]any{"channel": "call", "outcome": "reached"}))
	e.eventually("rescored", func() bool { return len(e.eventsOf("leads", id, "lead.scored.v1")) == 2 })
	if s := e.must(http.StatusOK, e.do("admin", "GET", "/v1/leads/"+id, nil)).body["score"]; s != float64(80) {
		t.Fatalf("score %v, want 80", s)
	}
	ev := e.eventsOf("leads", id, "lead.scored.v1")[1]
	if meta(ev, "actor") != "automation:lead_scoring" {
		t.Fatalf("actor %q", meta(ev, "actor"))
	}
}

func TestApprovalGatesClosedWon(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusForbidden, e.do("manager", "PUT", "/v1/automation/approvals", map[string]any{"threshold": "100000.00", "currency": "EUR"}))
	e.must(http.StatusBadRequest, e.do("admin", "PUT", "/v1/automation/approvals", map[string]any{"threshold": "lots", "currency": "EUR"}))
	e.must(http.StatusOK, e.do("admin", "PUT", "/v1/automation/approvals", map[string]any{"threshold": "100000.00", "currency": "EUR"}))
	acc := e.account("standard")
	big := e.opportunity(acc, "250000.00", "2030-01-31")
	small := e.opportunity(acc, "90000.00", "2030-01-31")
	for _, id := range []string{big, small} {
		e.must(http.StatusOK, e.do("sales", "POST", "/v1/opportunities/"+id+"/stage", map[string]any{"stage": "negotiation"}))
	}
	var approval string
	e.eventually("approval requested", func() bool {
		aps, _ := e.must(http.StatusOK, e.do("admin", "GET", "/v1/opportunities/"+big, nil)).body["approvals"].([]any)
		if len(aps) == 1 {
			approval = aps[0].(map[string]any)["id"].(string)
		}
		return approval != ""
	})
	r := e.must(http.StatusConflict, e.do("sales", "POST", "/v1/opportunities/"+big+"/stage", map[string]any{"stage": "closed_won"}))
	if r.str("code") != "approval_pending" {
		t.Fatalf("code %q", r.str("code"))
	}
	// Winning right after entering negotiation is refused too, before the
	// automation has had a chance to request the approval.
	for range 5 {
		quick := e.opportunity(acc, "300000.00", "2030-01-31")
		e.must(http.StatusOK, e.do("sales", "POST", "/v1/opportunities/"+quick+"/stage", map[string]any{"stage": "negotiation"}))
		if r := e.must(http.StatusConflict, e.do("sales", "POST", "/v1/opportunities/"+quick+"/stage", map[string]any{"stage": "closed_won"})); r.str("code") != "approval_pending" {
			t.Fatalf("code %q", r.str("code"))
		}
	}
	// The small deal needs nothing.
	e.must(http.StatusOK, e.do("sales", "POST", "/v1/opportunities/"+small+"/stage", map[string]any{"stage": "closed_won"}))
	e.must(http.StatusForbidden, e.do("sales", "POST", "/v1/opportunities/"+big+"/approvals/"+approval+"/approve", map[string]any{}))
	e.must(http.StatusOK, e.do("manager", "POST", "/v1/opportunities/"+big+"/approvals/"+approval+"/approve", map[string]any{"note": "ok"}))
	e.must(http.StatusOK, e.do("sales", "POST", "/v1/opportunities/"+big+"/stage", map[string]any{"stage": "closed_won"}))
	req := e.eventsOf("opportunities", big, "opportunity.approval_requested.v1")
	if len(req) != 1 || meta(req[0], "actor") != "automation:approval" {
		t.Fatalf("approval requests %v", req)
	}
}

func TestRejectedApprovalIsRecordedAndBlocks(t *testing.T) {
	e := newEnv(t)
	acc := e.account("standard")
	id := e.opportunity(acc, "750000.00", "2030-01-31")
	e.must(http.StatusOK, e.do("sales", "POST", "/v1/opportunities/"+id+"/stage", map[string]any{"stage": "negotiation"}))
	var approval string
	e.eventually("approval requested", func() bool {
		aps, _ := e.must(http.StatusOK, e.do("admin", "GET", "/v1/opportunities/"+id, nil)).body["approvals"].([]any)
		if len(aps) == 1 {
			approval = aps[0].(map[string]any)["id"].(string)
		}
		return approval != ""
	})
	e.must(http.StatusOK, e.do("manager", "POST", "/v1/opportunities/"+id+"/approvals/"+approval+"/reject", map[string]any{"reason": "margin"}))
	r := e.must(http.StatusConflict, e.do("sales", "POST", "/v1/opportunities/"+id+"/stage", map[string]any{"stage": "closed_won"}))
	if r.str("code") != "approval_rejected" {
		t.Fatalf("code %q", r.str("code"))
	}
}

func TestWonDealOpensExactlyOneTicketDeliveredThreeTimes(t *testing.T) {
	e := newEnv(t)
	acc := e.account("standard")
	id := e.opportunity(acc, "1000.00", "2030-01-31")
	e.must(http.StatusOK, e.do("sales", "POST", "/v1/opportunities/"+id+"/stage", map[string]any{"stage": "closed_won"}))
	ticket := workflows.OnboardingTicketID(id)
	e.eventually("onboarding ticket", func() bool { return e.do("admin", "GET", "/v1/tickets/"+ticket, nil).status == http.StatusOK })
	// Deliver the won event twice more, as a crash before the checkpoint
	// would.
	var won eventstore.Event
	evs, err := e.store.ReadStream(context.Background(), "opportunity-"+id, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Type == "opportunity.stage_changed.v1" {
			won = ev
		}
	}
	for range 2 {
		if err := e.backbone.Deliver(context.Background(), won); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_events WHERE type = 'ticket.opened.v1' AND actor = 'automation:onboarding'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d onboarding tickets, want 1", n)
	}
	opened := e.eventsOf("tickets", ticket, "ticket.opened.v1")[0]
	if meta(opened, "causation_id") != won.ID.String() || opened["data"].(map[string]any)["account_id"] != acc {
		t.Fatalf("onboarding ticket %v", opened)
	}
	if len(e.history("tickets", ticket)) != 1 {
		t.Fatalf("ticket history %v", e.history("tickets", ticket))
	}
}

func TestUnansweredUrgentTicketBreachesAndEscalates(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusBadRequest, e.do("manager", "PUT", "/v1/automation/sla", map[string]any{"urgent": map[string]any{"first_response_seconds": 0, "resolution_seconds": 10}}))
	e.must(http.StatusBadRequest, e.do("manager", "PUT", "/v1/automation/sla", map[string]any{"critical": map[string]any{"first_response_seconds": 1, "resolution_seconds": 10}}))
	e.must(http.StatusOK, e.do("manager", "PUT", "/v1/automation/sla", map[string]any{"urgent": map[string]any{"first_response_seconds": 1800, "resolution_seconds": 7200}}))
	open := func() string {
		return e.must(http.StatusCreated, e.do("support", "POST", "/v1/tickets", map[string]any{"subject": "Down", "priority": "urgent", "channel": "phone"})).str("id")
	}
	silent, answered := open(), open()
	got := e.must(http.StatusOK, e.do("admin", "GET", "/v1/tickets/"+silent, nil))
	opened, _ := time.Parse(time.RFC3339Nano, got.str("opened_at"))
	due, _ := time.Parse(time.RFC3339Nano, got.str("first_response_due"))
	if due.Sub(opened) != 30*time.Minute {
		t.Fatalf("first response due %v after opening, want the configured 30m", due.Sub(opened))
	}
	e.must(http.StatusOK, e.do("support", "POST", "/v1/tickets/"+answered+"/responses", map[string]any{"body": "on it"}))
	// Let the automations schedule the deadlines, then pass the target.
	e.eventually("deadlines scheduled", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_deadlines WHERE kind = 'sla'`).Scan(&n)
		return n == 4
	})
	e.advance(29 * time.Minute)
	time.Sleep(200 * time.Millisecond)
	if n := len(e.eventsOf("tickets", silent, "ticket.sla_breached.v1")); n != 0 {
		t.Fatalf("breached before the due time")
	}
	e.advance(2 * time.Minute)
	e.eventually("breach", func() bool { return len(e.eventsOf("tickets", silent, "ticket.escalated.v1")) == 1 })
	b := e.eventsOf("tickets", silent, "ticket.sla_breached.v1")
	if len(b) != 1 || meta(b[0], "actor") != "automation:sla" || b[0]["data"].(map[string]any)["target"] != "first_response" {
		t.Fatalf("breach events %v", b)
	}
	if v := e.must(http.StatusOK, e.do("admin", "GET", "/v1/tickets/"+silent, nil)); v.body["first_response_breached"] != true {
		t.Fatalf("ticket view %s", v.raw)
	}
	e.eventually("breach in the audit timeline", func() bool {
		items, _ := e.must(http.StatusOK, e.do("admin", "GET", "/v1/audit?entity_type=ticket&entity_id="+silent+"&type=ticket.sla_breached.v1", nil)).body["items"].([]any)
		if len(items) != 1 {
			return false
		}
		it := items[0].(map[string]any)
		return it["actor"] == "automation:sla" && strings.HasPrefix(it["summary"].(string), "Ticket SLA first response target missed")
	})
	// Past the resolution target both breach it; only once each.
	e.advance(2 * time.Hour)
	e.eventually("resolution breaches", func() bool {
		return len(e.eventsOf("tickets", silent, "ticket.sla_breached.v1")) == 2 && len(e.eventsOf("tickets", answered, "ticket.sla_breached.v1")) == 1
	})
	if n := len(e.eventsOf("tickets", answered, "ticket.escalated.v1")); n != 1 {
		t.Fatalf("answered ticket escalated %d times", n)
	}
	e.eventually("breached list", func() bool {
		items, _ := e.must(http.StatusOK, e.do("admin", "GET", "/v1/tickets?breached=true", nil)).body["items"].([]any)
		return len(items) == 2
	})
}

func TestVIPTicketsStartHigh(t *testing.T) {
	e := newEnv(t)
	vip, std := e.account("vip"), e.account("standard")
	tv := e.must(http.StatusCreated, e.do("support", "POST", "/v1/tickets", map[string]any{"subject": "Help", "priority": "low", "channel": "email", "account_id": vip})).str("id")
	ts := e.must(http.StatusCreated, e.do("support", "POST", "/v1/tickets", map[string]any{"subject": "Help", "priority": "low", "channel": "email", "account_id": std})).str("id")
	tu := e.must(http.StatusCreated, e.do("support", "POST", "/v1/tickets", map[string]any{"subject": "Help", "priority": "urgent", "channel": "email", "account_id": vip})).str("id")
	e.eventually("vip raised", func() bool {
		return e.must(http.StatusOK, e.do("admin", "GET", "/v1/tickets/"+tv, nil)).str("priority") == "high"
	})
	// The automations have passed the later tickets once their SLA
	// deadlines exist.
	e.eventually("deadlines", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(DISTINCT payload->>'entity_id') FROM crm_deadlines`).Scan(&n)
		return n == 3
	})
	e.eventually("deadlines of the raised priority", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_deadlines`).Scan(&n)
		return n == 8
	})
	if p := e.must(http.StatusOK, e.do("admin", "GET", "/v1/tickets/"+ts, nil)).str("priority"); p != "low" {
		t.Fatalf("standard account ticket priority %s", p)
	}
	if p := e.must(http.StatusOK, e.do("admin", "GET", "/v1/tickets/"+tu, nil)).str("priority"); p != "urgent" {
		t.Fatalf("urgent vip ticket priority %s", p)
	}
	if ev := e.eventsOf("tickets", tv, "ticket.priority_changed.v1"); meta(ev[0], "actor") != "automation:vip_priority" {
		t.Fatalf("actor %v", ev[0]["metadata"])
	}
}

func TestSurveyRequested24HoursAfterClose(t *testing.T) {
	e := newEnv(t)
	id := e.must(http.StatusCreated, e.do("support", "POST", "/v1/tickets", map[string]any{"subject": "Q", "priority": "normal", "channel": "chat"})).str("id")
	e.must(http.StatusOK, e.do("support", "POST", "/v1/tickets/"+id+"/responses", map[string]any{"body": "answer"}))
	e.must(http.StatusOK, e.do("support", "POST", "/v1/tickets/"+id+"/resolve", map[string]any{"resolution": "done"}))
	e.must(http.StatusOK, e.do("support", "POST", "/v1/tickets/"+id+"/close", nil))
	e.eventually("survey scheduled", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_deadlines WHERE kind = 'satisfaction_survey'`).Scan(&n)
		return n == 1
	})
	e.advance(23 * time.Hour)
	time.Sleep(200 * time.Millisecond)
	if n := len(e.eventsOf("tickets", id, "ticket.survey_requested.v1")); n != 0 {
		t.Fatal("survey requested before 24 h")
	}
	e.advance(time.Hour + time.Second)
	e.eventually("survey", func() bool { return len(e.eventsOf("tickets", id, "ticket.survey_requested.v1")) == 1 })
}

func TestOverdueReminderSevenDaysPastCloseDate(t *testing.T) {
	e := newEnv(t)
	acc := e.account("standard")
	date := e.clock.Now().Format(time.DateOnly)
	id := e.opportunity(acc, "1000.00", date)
	done := e.opportunity(acc, "1000.00", date)
	e.must(http.StatusOK, e.do("sales", "POST", "/v1/opportunities/"+done+"/stage", map[string]any{"stage": "closed_lost", "reason": "budget"}))
	e.eventually("overdue scheduled", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_deadlines WHERE kind = 'overdue_reminder'`).Scan(&n)
		return n == 2
	})
	e.advance(6 * 24 * time.Hour)
	time.Sleep(200 * time.Millisecond)
	if n := len(e.eventsOf("opportunities", id, "opportunity.overdue_reminded.v1")); n != 0 {
		t.Fatal("reminded too early")
	}
	e.advance(24 * time.Hour)
	e.eventually("reminder", func() bool { return len(e.eventsOf("opportunities", id, "opportunity.overdue_reminded.v1")) == 1 })
	e.eventually("all deadlines fired", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_deadlines WHERE fired_at IS NULL`).Scan(&n)
		return n == 0
	})
	if n := len(e.eventsOf("opportunities", done, "opportunity.overdue_reminded.v1")); n != 0 {
		t.Fatal("closed deal reminded")
	}
}

func TestDeadLettersListedAndReplayed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u1 := e.user("Una One")
	e.must(http.StatusOK, e.do("admin", "PUT", "/v1/automation/assignment", map[string]any{"default_owners": []string{u1}}))
	// Break the assignment automation's storage so it fails every retry.
	if _, err := e.pool.Exec(ctx, `ALTER TABLE crm_assignment_picks RENAME TO crm_assignment_picks_away`); err != nil {
		t.Fatal(err)
	}
	id := e.lead(nil)
	var letter map[string]any
	e.eventually("dead letter", func() bool {
		items, _ := e.must(http.StatusOK, e.do("admin", "GET", "/v1/automation/dead-letters", nil)).body["items"].([]any)
		if len(items) > 0 {
			letter = items[0].(map[string]any)
		}
		return letter != nil
	})
	if letter["handler"] != "assignment" || letter["reason"] == "" {
		t.Fatalf("dead letter %v", letter)
	}
	e.must(http.StatusForbidden, e.do("manager", "GET", "/v1/automation/dead-letters", nil))
	if _, err := e.pool.Exec(ctx, `ALTER TABLE crm_assignment_picks_away RENAME TO crm_assignment_picks`); err != nil {
		t.Fatal(err)
	}
	lid := letter["id"].(string)
	e.must(http.StatusOK, e.do("admin", "POST", "/v1/automation/dead-letters/"+lid+"/replay", nil))
	if o := e.must(http.StatusOK, e.do("admin", "GET", "/v1/leads/"+id, nil)).str("owner_id"); o != u1 {
		t.Fatalf("owner after replay %q", o)
	}
	r := e.must(http.StatusConflict, e.do("admin", "POST", "/v1/automation/dead-letters/"+lid+"/replay", nil))
	if r.str("code") != "dead_letter_replayed" {
		t.Fatalf("code %q", r.str("code"))
	}
	e.must(http.StatusNotFound, e.do("admin", "POST", "/v1/automation/dead-letters/"+uuid.NewString()+"/replay", nil))
	// A dead letter of a handler this process does not run (the bus
	// publisher of a process started with --bus) is refused, not dropped,
	// and stays to be replayed where it runs.
	other := uuid.New()
	if _, err := e.pool.Exec(ctx, `INSERT INTO crm_dead_letters (id, handler, topic, message_id, reason, payload, metadata)
		VALUES ($1, 'nats', 'crm.events', $2, 'unreachable', '{}', '{}')`, other, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	r = e.must(http.StatusConflict, e.do("admin", "POST", "/v1/automation/dead-letters/"+other.String()+"/replay", nil))
	if r.str("code") != "automations_not_running" {
		t.Fatalf("replay of an unknown handler's letter: code %q", r.str("code"))
	}
	var replayed *time.Time
	if err := e.pool.QueryRow(ctx, `SELECT replayed_at FROM crm_dead_letters WHERE id = $1`, other).Scan(&replayed); err != nil || replayed != nil {
		t.Fatalf("refused letter marked replayed at %v (%v)", replayed, err)
	}
	// Other automations were not held up by the failing one.
	e.eventually("the lead scored", func() bool { return len(e.eventsOf("leads", id, "lead.scored.v1")) == 1 })
}

func TestScoreRules(t *testing.T) {
	for _, tt := range []struct {
		c        aggregates.LeadCapturedEvent
		outcomes []string
		want     int
	}{
		{aggregates.LeadCapturedEvent{Source: "cold"}, nil, 5},
		{aggregates.LeadCapturedEvent{Source: "Website", CompanySize: "51-200", Industry: "x"}, nil, 10 + 15 + 5},
		{aggregates.LeadCapturedEvent{Source: "partner", CompanySize: "small"}, []string{"no_answer", "no_answer", "no_answer", "no_answer"}, 25 + 5 - 15},
		{aggregates.LeadCapturedEvent{Source: "cold"}, []string{"bounced"}, 0},
		{aggregates.LeadCapturedEvent{Source: "referral", CompanySize: "enterprise", Phone: "1", Industry: "x"}, []string{"reached", "left_message", "left_message", "left_message", "left_message"}, 100},
	} {
		if got, _ := workflows.Score(tt.c, tt.outcomes); got != tt.want {
			t.Errorf("%+v %v: score %d, want %d", tt.c, tt.outcomes, got, tt.want)
		}
	}
}
