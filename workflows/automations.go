package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"crm/aggregates"
	"crm/commands"
	"crm/workflows/scheduler"
)

// Reads are the by-id reads the automations decide on.
type Reads interface {
	CurrentLead(ctx context.Context, id string, since int64) (aggregates.LeadView, int64, error)
	CurrentAccount(ctx context.Context, id string, since int64) (aggregates.AccountView, int64, error)
	CurrentOpportunity(ctx context.Context, id string, since int64) (aggregates.OpportunityView, int64, error)
	CurrentHistory(ctx context.Context, entityType, id string, since int64) ([]commands.Recorded, error)
	CurrentOrder(ctx context.Context, id string, since int64) (aggregates.OrderView, int64, error)
}

// Deadlines stores durable deadlines and runs their handlers.
type Deadlines interface {
	Schedule(ctx context.Context, d scheduler.Deadline) error
	Handle(kind string, h scheduler.Handler)
}

// Automation names; each event an automation causes has the actor
// "automation:<name>".
const (
	AutoAssignment = "assignment"
	AutoScoring    = "lead_scoring"
	AutoApproval   = "approval"
	AutoOnboarding = "onboarding"
	AutoVIP        = "vip_priority"
	AutoSLA        = "sla"
	AutoSurvey     = "satisfaction_survey"
	AutoOverdue    = "overdue_reminder"
)

// SurveyDelay is how long after a ticket closes its survey is requested.
const SurveyDelay = 24 * time.Hour

// Automations are the built-in process managers.
type Automations struct {
	pool     *pgxpool.Pool
	reads    Reads
	settings *Settings
	bus      interface {
		Send(ctx context.Context, cmd any) error
	}
	deadlines Deadlines
}

// Register adds every built-in automation to b and their deadline
// handlers to d. reads are the by-id reads; settings the runtime
// configuration.
func Register(b *Backbone, d Deadlines, reads Reads, settings *Settings) {
	a := &Automations{pool: b.pool, reads: reads, settings: settings, bus: b, deadlines: d}
	for _, x := range []struct {
		name   string
		handle func(context.Context, Event) error
	}{
		{AutoAssignment, a.assign}, {AutoScoring, a.score}, {AutoApproval, a.approval}, {AutoOnboarding, a.onboarding},
		{AutoVIP, a.vip}, {AutoSLA, a.slaSchedule}, {AutoSurvey, a.surveySchedule}, {AutoOverdue, a.overdueSchedule},
		{AutoTaskReminder, a.taskSchedule},
	} {
		b.AddAutomation(automation{name: x.name, handle: x.handle})
	}
	d.Handle(AutoSLA, a.slaFire)
	d.Handle(AutoSurvey, a.surveyFire)
	d.Handle(AutoOverdue, a.overdueFire)
	d.Handle(AutoTaskReminder, a.taskFire)
}

type automation struct {
	name   string
	handle func(context.Context, Event) error
}

func (a automation) Name() string                               { return a.name }
func (a automation) Handle(ctx context.Context, ev Event) error { return a.handle(ctx, ev) }

// cause is what an automation's command records about why it ran.
type cause struct {
	EventID       string `json:"causation_id"`
	CorrelationID string `json:"correlation_id,omitempty"`
}

func causeOf(ev Event) cause {
	return cause{EventID: ev.ID.String(), CorrelationID: ev.Metadata.CorrelationID}
}

// envelope is the metadata of a command an automation issues: its actor,
// a command id derived from the cause (the same on every redelivery), the
// correlation of the triggering event and the event as its causation.
func envelope(name string, c cause, salt string) commands.Envelope {
	return commands.Envelope{Metadata: commands.Metadata{Actor: "automation:" + name,
		CommandID:     derivedID(name + ":" + c.EventID + ":" + salt),
		CorrelationID: c.CorrelationID, CausationID: c.EventID}}
}

// derivedID is a UUID (v5) determined by s.
func derivedID(s string) string { return uuid.NewSHA1(uuid.NameSpaceURL, []byte("crm:"+s)).String() }

// --- lead assignment -------------------------------------------------------

func (a *Automations) assign(ctx context.Context, ev Event) error {
	e, ok := ev.Domain.(aggregates.LeadCapturedEvent)
	if !ok || e.OwnerID != "" {
		return nil
	}
	lead, _, err := a.reads.CurrentLead(ctx, e.LeadID, ev.Version)
	if err != nil {
		return err
	}
	if lead.OwnerID != "" || lead.Status == aggregates.LeadConverted || lead.Status == aggregates.LeadDisqualified {
		return nil
	}
	owner, err := a.pickOwner(ctx, ev.ID, e)
	if err != nil || owner == "" {
		return err
	}
	return a.bus.Send(ctx, &commands.AssignLead{Envelope: envelope(AutoAssignment, causeOf(ev), ""), LeadID: e.LeadID, OwnerID: owner})
}

// pickOwner chooses the lead's owner: the next owner in turn of the first
// matching rule, else of the default owners. The pick is stored per
// triggering event, so a redelivery picks the same owner and moves no
// turn.
func (a *Automations) pickOwner(ctx context.Context, eventID uuid.UUID, e aggregates.LeadCapturedEvent) (string, error) {
	rules, err := a.settings.Assignment(ctx)
	if err != nil {
		return "", err
	}
	key, owners := "default:"+strings.Join(rules.DefaultOwners, ","), rules.DefaultOwners
	for i, r := range rules.Rules {
		if matches(r.Match.Region, e.Region) && matches(r.Match.Industry, e.Industry) {
			key, owners = fmt.Sprintf("rule%d:%s:%s:%s", i, r.Match.Region, r.Match.Industry, strings.Join(r.Owners, ",")), r.Owners
			break
		}
	}
	if len(owners) == 0 {
		return "", nil
	}
	var owner string
	err = pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT owner_id FROM crm_assignment_picks WHERE event_id = $1`, eventID).Scan(&owner)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var turn int64
		if err := tx.QueryRow(ctx, `INSERT INTO crm_assignment_counters (rule, next) VALUES ($1, 1)
ON CONFLICT (rule) DO UPDATE SET next = crm_assignment_counters.next + 1 RETURNING next - 1`, key).Scan(&turn); err != nil {
			return err
		}
		owner = owners[turn%int64(len(owners))]
		_, err = tx.Exec(ctx, `INSERT INTO crm_assignment_picks (event_id, owner_id) VALUES ($1, $2)`, eventID, owner)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("pick an owner for lead %s: %w", e.LeadID, err)
	}
	return owner, nil
}

func matches(want, got string) bool { return want == "" || strings.EqualFold(want, got) }

// --- lead scoring ----------------------------------------------------------

// Score computes a lead's score (0..100) from what it was captured with
// and its contact attempts:
//   - source: referral 30, partner 25, event or webinar 20, website or web 10, any other 5;
//   - company size (largest number in it, or words): 1000 or more / enterprise 25,
//     200 or more / mid-market 15, fewer / small 5, not given 0;
//   - a phone number 5, an industry 5;
//   - contact attempts: reached at least once 20, each left_message 5 (up to 3),
//     each no_answer -5 (up to 3), bounced at least once -20.
func Score(c aggregates.LeadCapturedEvent, outcomes []string) (int, []string) {
	score, reasons := 0, []string{}
	add := func(n int, why string) {
		if n != 0 {
			score += n
			reasons = append(reasons, fmt.Sprintf("%+d %s", n, why))
		}
	}
	switch s := strings.ToLower(c.Source); s {
	case "referral":
		add(30, "source referral")
	case "partner":
		add(25, "source partner")
	case "event", "webinar":
		add(20, "source "+s)
	case "website", "web":
		add(10, "source "+s)
	default:
		add(5, "source "+s)
	}
	switch size := companySize(c.CompanySize); {
	case size >= 1000:
		add(25, "company size "+c.CompanySize)
	case size >= 200:
		add(15, "company size "+c.CompanySize)
	case size > 0:
		add(5, "company size "+c.CompanySize)
	}
	if c.Phone != "" {
		add(5, "phone given")
	}
	if c.Industry != "" {
		add(5, "industry given")
	}
	var reached, bounced bool
	var left, noAnswer int
	for _, o := range outcomes {
		switch o {
		case "reached":
			reached = true
		case "bounced":
			bounced = true
		case "left_message":
			left++
		case "no_answer":
			noAnswer++
		}
	}
	if reached {
		add(20, "reached")
	}
	add(5*min(left, 3), "left messages")
	add(-5*min(noAnswer, 3), "unanswered attempts")
	if bounced {
		add(-20, "bounced")
	}
	return max(0, min(100, score)), reasons
}

var digits = regexp.MustCompile(`\d+`)

// companySize reads a company size: the largest number in it, or a word.
func companySize(s string) int {
	best := 0
	for _, d := range digits.FindAllString(strings.ReplaceAll(s, ",", ""), -1) {
		if n, err := strconv.Atoi(d); err == nil && n > best {
			best = n
		}
	}
	if best > 0 {
		return best
	}
	switch l := strings.ToLower(s); {
	case strings.Contains(l, "enterprise") || strings.Contains(l, "large"):
		return 1000
	case strings.Contains(l, "mid"):
		return 200
	case l != "":
		return 1
	}
	return 0
}

func (a *Automations) score(ctx context.Context, ev Event) error {
	var leadID string
	switch e := ev.Domain.(type) {
	case aggregates.LeadCapturedEvent:
		leadID = e.LeadID
	case aggregates.LeadContactAttemptedEvent:
		leadID = e.LeadID
	case aggregates.LeadDetailsChangedEvent:
		leadID = e.LeadID
	default:
		return nil
	}
	history, err := a.reads.CurrentHistory(ctx, commands.TypeLead, leadID, ev.Version)
	if err != nil {
		return err
	}
	lead := aggregates.NewLead(leadID)
	for _, r := range history {
		lead.Apply(r.Event)
	}
	if !lead.Exists() || lead.Status() == aggregates.LeadConverted || lead.Status() == aggregates.LeadDisqualified {
		return nil
	}
	// The command compares with the lead's current score and appends
	// nothing when it is unchanged.
	s, reasons := Score(lead.Captured(), lead.Attempts())
	return a.bus.Send(ctx, &commands.ScoreLead{Envelope: envelope(AutoScoring, causeOf(ev), ""), LeadID: leadID, Score: s, Reasons: reasons})
}

// --- approvals -------------------------------------------------------------

func (a *Automations) approval(ctx context.Context, ev Event) error {
	var id string
	switch e := ev.Domain.(type) {
	case aggregates.OpportunityStageChangedEvent:
		if e.To != aggregates.StageNegotiation {
			return nil
		}
		id = e.OpportunityID
	case aggregates.OpportunityOpenedEvent:
		if e.Stage != aggregates.StageNegotiation {
			return nil
		}
		id = e.OpportunityID
	default:
		return nil
	}
	opp, _, err := a.reads.CurrentOpportunity(ctx, id, ev.Version)
	if err != nil {
		return err
	}
	policy, threshold, err := a.settings.Approvals(ctx)
	if err != nil {
		return err
	}
	amount, err := decimal.NewFromString(opp.Amount)
	if err != nil || opp.Currency != policy.Currency || !amount.GreaterThan(threshold) {
		return nil
	}
	return a.bus.Send(ctx, &commands.RequestApproval{Envelope: envelope(AutoApproval, causeOf(ev), ""), OpportunityID: id,
		ApprovalID: derivedID("approval:" + ev.ID.String()),
		Reason:     fmt.Sprintf("amount %s %s is above the approval threshold %s %s", opp.Amount, opp.Currency, policy.Threshold, policy.Currency)})
}

// --- onboarding ------------------------------------------------------------

// OnboardingTicketID is the id of a won deal's onboarding ticket: one per
// opportunity, however often it is won or the event delivered.
func OnboardingTicketID(opportunityID string) string { return derivedID("onboarding:" + opportunityID) }

func (a *Automations) onboarding(ctx context.Context, ev Event) error {
	e, ok := ev.Domain.(aggregates.OpportunityStageChangedEvent)
	if !ok || e.To != aggregates.StageClosedWon {
		return nil
	}
	opp, _, err := a.reads.CurrentOpportunity(ctx, e.OpportunityID, ev.Version)
	if err != nil {
		return err
	}
	return a.bus.Send(ctx, &commands.OpenTicket{Envelope: envelope(AutoOnboarding, causeOf(ev), ""), ID: OnboardingTicketID(e.OpportunityID),
		OpenTicket: aggregates.OpenTicket{Subject: "Onboarding: " + opp.Name, AccountID: opp.AccountID, Priority: "normal", Channel: "web",
			Description: "Onboard the customer of won opportunity " + opp.ID + "."}})
}

// --- VIP priority ----------------------------------------------------------

func (a *Automations) vip(ctx context.Context, ev Event) error {
	e, ok := ev.Domain.(aggregates.TicketOpenedEvent)
	if !ok || e.AccountID == "" || e.Priority == "high" || e.Priority == "urgent" {
		return nil
	}
	acc, _, err := a.reads.CurrentAccount(ctx, e.AccountID, 0)
	if err != nil || acc.Tier != "vip" {
		return err
	}
	return a.bus.Send(ctx, &commands.ChangeTicketPriority{Envelope: envelope(AutoVIP, causeOf(ev), ""), TicketID: e.TicketID, Priority: "high"})
}

// --- deadlines -------------------------------------------------------------

// deadlinePayload is what a deadline carries.
type deadlinePayload struct {
	cause
	EntityID string `json:"entity_id"`
	Target   string `json:"target,omitempty"`
}

func (a *Automations) schedule(ctx context.Context, kind string, due time.Time, p deadlinePayload) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	id := fmt.Sprintf("%s:%s:%s:%s", kind, p.EntityID, p.Target, due.UTC().Format(time.RFC3339Nano))
	return a.deadlines.Schedule(ctx, scheduler.Deadline{ID: id, Kind: kind, DueAt: due, Payload: raw})
}

func payloadOf(d scheduler.Deadline) (deadlinePayload, error) {
	var p deadlinePayload
	err := json.Unmarshal(d.Payload, &p)
	return p, err
}

// slaSchedule sets a ticket's SLA deadlines just after its due times.
func (a *Automations) slaSchedule(ctx context.Context, ev Event) error {
	var id string
	var first, resolution time.Time
	switch e := ev.Domain.(type) {
	case aggregates.TicketOpenedEvent:
		id, first, resolution = e.TicketID, e.FirstResponseDue, e.ResolutionDue
	case aggregates.TicketPriorityChangedEvent:
		id, first, resolution = e.TicketID, e.FirstResponseDue, e.ResolutionDue
	default:
		return nil
	}
	c := causeOf(ev)
	// A breach is a time strictly after the due time.
	if err := a.schedule(ctx, AutoSLA, first.Add(time.Millisecond), deadlinePayload{cause: c, EntityID: id, Target: aggregates.SLAFirstResponse}); err != nil {
		return err
	}
	return a.schedule(ctx, AutoSLA, resolution.Add(time.Millisecond), deadlinePayload{cause: c, EntityID: id, Target: aggregates.SLAResolution})
}

func (a *Automations) slaFire(ctx context.Context, d scheduler.Deadline) error {
	p, err := payloadOf(d)
	if err != nil {
		return err
	}
	return a.bus.Send(ctx, &commands.BreachTicketSLA{Envelope: envelope(AutoSLA, p.cause, d.ID), TicketID: p.EntityID, Target: p.Target})
}

func (a *Automations) surveySchedule(ctx context.Context, ev Event) error {
	e, ok := ev.Domain.(aggregates.TicketClosedEvent)
	if !ok {
		return nil
	}
	return a.schedule(ctx, AutoSurvey, e.ClosedAt.Add(SurveyDelay), deadlinePayload{cause: causeOf(ev), EntityID: e.TicketID})
}

func (a *Automations) surveyFire(ctx context.Context, d scheduler.Deadline) error {
	p, err := payloadOf(d)
	if err != nil {
		return err
	}
	return a.bus.Send(ctx, &commands.RequestSurvey{Envelope: envelope(AutoSurvey, p.cause, d.ID), TicketID: p.EntityID})
}

func (a *Automations) overdueSchedule(ctx context.Context, ev Event) error {
	var id, date string
	switch e := ev.Domain.(type) {
	case aggregates.OpportunityOpenedEvent:
		id, date = e.OpportunityID, e.ExpectedCloseDate
	case aggregates.OpportunityCloseDateChangedEvent:
		id, date = e.OpportunityID, e.To
	case aggregates.OpportunityReopenedEvent:
		opp, _, err := a.reads.CurrentOpportunity(ctx, e.OpportunityID, ev.Version)
		if err != nil {
			return err
		}
		id, date = e.OpportunityID, opp.ExpectedCloseDate
	default:
		return nil
	}
	at := aggregates.OverdueAt(date)
	if at.IsZero() {
		return nil
	}
	return a.schedule(ctx, AutoOverdue, at, deadlinePayload{cause: causeOf(ev), EntityID: id, Target: date})
}

func (a *Automations) overdueFire(ctx context.Context, d scheduler.Deadline) error {
	p, err := payloadOf(d)
	if err != nil {
		return err
	}
	return a.bus.Send(ctx, &commands.RemindOverdue{Envelope: envelope(AutoOverdue, p.cause, d.ID), OpportunityID: p.EntityID})
}

// CommandHandlers are the commands the automations issue, as cqrs
// handlers over h.
type CommandHandlers interface {
	AssignLead(ctx context.Context, c *commands.AssignLead) error
	ScoreLead(ctx context.Context, c *commands.ScoreLead) error
	RequestApproval(ctx context.Context, c *commands.RequestApproval) error
	OpenTicket(ctx context.Context, c *commands.OpenTicket) error
	ChangeTicketPriority(ctx context.Context, c *commands.ChangeTicketPriority) error
	BreachTicketSLA(ctx context.Context, c *commands.BreachTicketSLA) error
	RequestSurvey(ctx context.Context, c *commands.RequestSurvey) error
	RemindOverdue(ctx context.Context, c *commands.RemindOverdue) error
	CreateOrder(ctx context.Context, c *commands.CreateOrder) error
	RemindCollection(ctx context.Context, c *commands.RemindCollection) error
	RemindTask(ctx context.Context, c *commands.RemindTask) error
}
