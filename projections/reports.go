package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/aggregates"
	"crm/readmodels"
)

// Reports projects the funnel, pipeline and dashboard tables of
// readmodels.ReportsSchema.
//
// Like Lists, Apply is set-based: one round trip loads every row a batch
// touches, the batch is folded in memory, and one round trip upserts the
// changed rows (passed as one JSON array per table).
type Reports struct{}

// NewReports returns the reports projector.
func NewReports() *Reports { return &Reports{} }

// Name implements Projector: "reports".
func (*Reports) Name() string { return readmodels.ReportsProjector }

// Setup implements Projector: it creates the report tables.
func (*Reports) Setup(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, readmodels.ReportsSchema); err != nil {
		return fmt.Errorf("create report tables: %w", err)
	}
	return nil
}

// reportLead is a row of report_leads; the JSON names are the columns.
type reportLead struct {
	ID         string    `json:"id"`
	OwnerID    string    `json:"owner_id"`
	Source     string    `json:"source"`
	Campaign   string    `json:"campaign"`
	CapturedAt time.Time `json:"captured_at"`
	Reached    int       `json:"reached"`
}

// reportOpp is a row of report_opportunities.
type reportOpp struct {
	ID                string      `json:"id"`
	LeadID            string      `json:"lead_id"`
	OwnerID           string      `json:"owner_id"`
	Source            string      `json:"source"`
	Campaign          string      `json:"campaign"`
	OpenedAt          time.Time   `json:"opened_at"`
	Status            string      `json:"status"`
	Stage             string      `json:"stage"`
	StageEnteredAt    time.Time   `json:"stage_entered_at"`
	Reached           int         `json:"reached"`
	Probability       int         `json:"probability"`
	Amount            json.Number `json:"amount"`
	Currency          string      `json:"currency"`
	ExpectedCloseDate string      `json:"expected_close_date"`
	ClosedAt          *time.Time  `json:"closed_at"`
	SecsProspecting   *int64      `json:"secs_prospecting"`
	SecsQualification *int64      `json:"secs_qualification"`
	SecsProposal      *int64      `json:"secs_proposal"`
	SecsNegotiation   *int64      `json:"secs_negotiation"`
}

// reportTicket is a row of report_tickets.
type reportTicket struct {
	ID                    string    `json:"id"`
	Priority              string    `json:"priority"`
	Status                string    `json:"status"`
	OpenedAt              time.Time `json:"opened_at"`
	FirstResponseSecs     *float64  `json:"first_response_secs"`
	ResolutionSecs        *float64  `json:"resolution_secs"`
	FirstResponseBreached bool      `json:"first_response_breached"`
	ResolutionBreached    bool      `json:"resolution_breached"`
	Satisfaction          *int      `json:"satisfaction"`
}

// Opportunity statuses in report_opportunities.
const (
	reportOpen = "open"
	reportWon  = "won"
	reportLost = "lost"
)

// stageOrdinal is an opportunity stage's place in the funnel: 0..3 for the
// open stages, 4 for closed_won, -1 for closed_lost and unknown stages.
func stageOrdinal(stage string) int {
	if i := slices.Index(aggregates.OpenStages, stage); i >= 0 {
		return i
	}
	if stage == aggregates.StageClosedWon {
		return 4
	}
	return -1
}

// stageSecs returns the accumulator of an open stage's time.
func (o *reportOpp) stageSecs(stage string) **int64 {
	switch stage {
	case aggregates.StageProspecting:
		return &o.SecsProspecting
	case aggregates.StageQualification:
		return &o.SecsQualification
	case aggregates.StageProposal:
		return &o.SecsProposal
	case aggregates.StageNegotiation:
		return &o.SecsNegotiation
	}
	return nil
}

// leave ends the stay in the current stage at t, adding it to the stage's
// total when the stage is open.
func (o *reportOpp) leave(t time.Time) {
	acc := o.stageSecs(o.Stage)
	if acc == nil {
		return
	}
	secs := int64(t.Sub(o.StageEnteredAt) / time.Second)
	if secs < 0 {
		secs = 0
	}
	if *acc != nil {
		secs += **acc
	}
	*acc = &secs
}

// enter starts a stay in stage at t.
func (o *reportOpp) enter(stage string, t time.Time) {
	o.Stage, o.StageEnteredAt = stage, t
	// Reached is the furthest open stage; a won deal counts in every
	// stage through its status, so a reopened deal stops counting as won.
	if n := stageOrdinal(stage); n > o.Reached && n < 4 {
		o.Reached = n
	}
}

// reportsBatch is the rows one Apply touches.
type reportsBatch struct {
	leads   map[string]*reportLead
	opps    map[string]*reportOpp
	tickets map[string]*reportTicket
	dirty   map[string]bool // "l:", "o:", "t:" + id
}

// Apply implements Projector.
func (*Reports) Apply(ctx context.Context, tx pgx.Tx, events []Event) error {
	b := &reportsBatch{leads: map[string]*reportLead{}, opps: map[string]*reportOpp{},
		tickets: map[string]*reportTicket{}, dirty: map[string]bool{}}
	var leadIDs, oppIDs, ticketIDs []string
	for _, e := range events {
		switch d := e.Domain.(type) {
		case aggregates.LeadAssignedEvent:
			leadIDs = append(leadIDs, d.LeadID)
		case aggregates.LeadContactAttemptedEvent:
			leadIDs = append(leadIDs, d.LeadID)
		case aggregates.LeadQualifiedEvent:
			leadIDs = append(leadIDs, d.LeadID)
		case aggregates.LeadConvertedEvent:
			leadIDs = append(leadIDs, d.LeadID)
		case aggregates.OpportunityOpenedEvent:
			if d.LeadID != "" {
				leadIDs = append(leadIDs, d.LeadID)
			}
		case aggregates.OpportunityStageChangedEvent:
			oppIDs = append(oppIDs, d.OpportunityID)
		case aggregates.OpportunityAmountChangedEvent:
			oppIDs = append(oppIDs, d.OpportunityID)
		case aggregates.OpportunityCloseDateChangedEvent:
			oppIDs = append(oppIDs, d.OpportunityID)
		case aggregates.OpportunityReopenedEvent:
			oppIDs = append(oppIDs, d.OpportunityID)
		case aggregates.TicketRespondedEvent:
			ticketIDs = append(ticketIDs, d.TicketID)
		case aggregates.TicketPriorityChangedEvent:
			ticketIDs = append(ticketIDs, d.TicketID)
		case aggregates.TicketResolvedEvent:
			ticketIDs = append(ticketIDs, d.TicketID)
		case aggregates.TicketClosedEvent:
			ticketIDs = append(ticketIDs, d.TicketID)
		case aggregates.TicketReopenedEvent:
			ticketIDs = append(ticketIDs, d.TicketID)
		case aggregates.TicketSatisfactionRecordedEvent:
			ticketIDs = append(ticketIDs, d.TicketID)
		}
	}
	if err := b.load(ctx, tx, leadIDs, oppIDs, ticketIDs); err != nil {
		return fmt.Errorf("reports: load rows: %w", err)
	}
	for _, e := range events {
		b.apply(e.Domain)
	}
	if err := b.write(ctx, tx); err != nil {
		return fmt.Errorf("reports: write rows: %w", err)
	}
	return nil
}

// load reads the rows with the given ids, as JSON, in one round trip.
func (b *reportsBatch) load(ctx context.Context, tx pgx.Tx, leadIDs, oppIDs, ticketIDs []string) error {
	batch := &pgx.Batch{}
	queue := func(table string, ids []string, into func([]byte) error) {
		if len(ids) == 0 {
			return
		}
		batch.Queue(`SELECT row_to_json(t)::text FROM `+table+` t WHERE id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
			var raw []byte
			_, err := pgx.ForEachRow(rows, []any{&raw}, func() error { return into(raw) })
			return err
		})
	}
	queue("report_leads", leadIDs, func(raw []byte) error {
		var r reportLead
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		b.leads[r.ID] = &r
		return nil
	})
	queue("report_opportunities", oppIDs, func(raw []byte) error {
		var r reportOpp
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		b.opps[r.ID] = &r
		return nil
	})
	queue("report_tickets", ticketIDs, func(raw []byte) error {
		var r reportTicket
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		b.tickets[r.ID] = &r
		return nil
	})
	if batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, batch).Close()
}

// storedTime is t as a row stores it: UTC, truncated to the microsecond
// (PostgreSQL's precision). The batch keeps times so, and figures computed
// from a time still in the batch then equal those computed from the same
// time read back from its row in a later batch: a rebuild, which folds
// more events per batch, writes what the live projector wrote.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// secsBetween is the seconds from a to b, to the microsecond (never
// negative).
// Both times are taken as stored (storedTime).
func secsBetween(a, b time.Time) *float64 {
	s := max(storedTime(b).Sub(storedTime(a)), 0).Seconds()
	return &s
}

// apply folds one event into the batch's rows. Events about records whose
// creation was never seen are skipped.
func (b *reportsBatch) apply(ev aggregates.Event) {
	lead := func(id string) *reportLead {
		l := b.leads[id]
		if l != nil {
			b.dirty["l:"+id] = true
		}
		return l
	}
	opp := func(id string) *reportOpp {
		o := b.opps[id]
		if o != nil {
			b.dirty["o:"+id] = true
		}
		return o
	}
	ticket := func(id string) *reportTicket {
		t := b.tickets[id]
		if t != nil {
			b.dirty["t:"+id] = true
		}
		return t
	}
	reach := func(l *reportLead, n int) {
		if l != nil && n > l.Reached {
			l.Reached = n
		}
	}
	switch e := ev.(type) {
	case aggregates.LeadCapturedEvent:
		b.leads[e.LeadID] = &reportLead{ID: e.LeadID, OwnerID: e.OwnerID, Source: e.Source, Campaign: e.Campaign,
			CapturedAt: e.CapturedAt.UTC()}
		b.dirty["l:"+e.LeadID] = true
	case aggregates.LeadAssignedEvent:
		if l := lead(e.LeadID); l != nil {
			l.OwnerID = e.OwnerID
		}
	case aggregates.LeadContactAttemptedEvent:
		reach(lead(e.LeadID), 1)
	case aggregates.LeadQualifiedEvent:
		reach(lead(e.LeadID), 2)
	case aggregates.LeadConvertedEvent:
		reach(lead(e.LeadID), 3)
	case aggregates.OpportunityOpenedEvent:
		o := &reportOpp{ID: e.OpportunityID, LeadID: e.LeadID, OwnerID: e.OwnerID, OpenedAt: storedTime(e.OpenedAt),
			Status: reportOpen, Probability: e.Probability, Amount: json.Number(e.Amount), Currency: e.Currency,
			ExpectedCloseDate: e.ExpectedCloseDate}
		if l := b.leads[e.LeadID]; l != nil {
			o.Source, o.Campaign = l.Source, l.Campaign
		}
		o.enter(e.Stage, o.OpenedAt)
		b.opps[e.OpportunityID] = o
		b.dirty["o:"+e.OpportunityID] = true
	case aggregates.OpportunityStageChangedEvent:
		o := opp(e.OpportunityID)
		if o == nil {
			return
		}
		at := storedTime(e.ChangedAt)
		o.leave(at)
		o.enter(e.To, at)
		o.Probability = e.Probability
		switch e.To {
		case aggregates.StageClosedWon:
			o.Status, o.ClosedAt = reportWon, &at
		case aggregates.StageClosedLost:
			o.Status, o.ClosedAt = reportLost, &at
		}
	case aggregates.OpportunityReopenedEvent:
		if o := opp(e.OpportunityID); o != nil {
			o.Status, o.ClosedAt = reportOpen, nil
			o.enter(e.ToStage, storedTime(e.ReopenedAt))
			o.Probability = aggregates.StageProbability(e.ToStage)
		}
	case aggregates.OpportunityAmountChangedEvent:
		if o := opp(e.OpportunityID); o != nil {
			o.Amount, o.Currency = json.Number(e.Amount), e.Currency
		}
	case aggregates.OpportunityCloseDateChangedEvent:
		if o := opp(e.OpportunityID); o != nil {
			o.ExpectedCloseDate = e.To
		}
	case aggregates.TicketOpenedEvent:
		b.tickets[e.TicketID] = &reportTicket{ID: e.TicketID, Priority: e.Priority, Status: aggregates.TicketOpen,
			OpenedAt: storedTime(e.OpenedAt)}
		b.dirty["t:"+e.TicketID] = true
	case aggregates.TicketRespondedEvent:
		if t := ticket(e.TicketID); t != nil && e.First && t.FirstResponseSecs == nil {
			t.FirstResponseSecs = secsBetween(t.OpenedAt, e.RespondedAt)
			t.FirstResponseBreached = !e.WithinSLA
		}
	case aggregates.TicketPriorityChangedEvent:
		if t := ticket(e.TicketID); t != nil {
			t.Priority = e.To
		}
	case aggregates.TicketResolvedEvent:
		if t := ticket(e.TicketID); t != nil {
			t.Status = aggregates.TicketResolved
			t.ResolutionSecs = secsBetween(t.OpenedAt, e.ResolvedAt)
			t.ResolutionBreached = !e.WithinSLA // as the ticket's own view
		}
	case aggregates.TicketClosedEvent:
		if t := ticket(e.TicketID); t != nil {
			t.Status = aggregates.TicketClosed
		}
	case aggregates.TicketReopenedEvent:
		if t := ticket(e.TicketID); t != nil {
			t.Status, t.ResolutionSecs, t.Satisfaction = aggregates.TicketOpen, nil, nil
		}
	case aggregates.TicketSatisfactionRecordedEvent:
		if t := ticket(e.TicketID); t != nil {
			s := e.Score
			t.Satisfaction = &s
		}
	}
}

// The upserts: each takes one JSON array of rows.
const (
	reportsUpsertLeads = `INSERT INTO report_leads
		SELECT * FROM jsonb_populate_recordset(NULL::report_leads, $1::jsonb)
		ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id, source = EXCLUDED.source,
			campaign = EXCLUDED.campaign, captured_at = EXCLUDED.captured_at, reached = EXCLUDED.reached`
	reportsUpsertOpps = `INSERT INTO report_opportunities
		SELECT * FROM jsonb_populate_recordset(NULL::report_opportunities, $1::jsonb)
		ON CONFLICT (id) DO UPDATE SET lead_id = EXCLUDED.lead_id, owner_id = EXCLUDED.owner_id,
			source = EXCLUDED.source, campaign = EXCLUDED.campaign, opened_at = EXCLUDED.opened_at,
			status = EXCLUDED.status, stage = EXCLUDED.stage, stage_entered_at = EXCLUDED.stage_entered_at,
			reached = EXCLUDED.reached, probability = EXCLUDED.probability, amount = EXCLUDED.amount,
			currency = EXCLUDED.currency, expected_close_date = EXCLUDED.expected_close_date,
			closed_at = EXCLUDED.closed_at, secs_prospecting = EXCLUDED.secs_prospecting,
			secs_qualification = EXCLUDED.secs_qualification, secs_proposal = EXCLUDED.secs_proposal,
			secs_negotiation = EXCLUDED.secs_negotiation`
	reportsUpsertTickets = `INSERT INTO report_tickets
		SELECT * FROM jsonb_populate_recordset(NULL::report_tickets, $1::jsonb)
		ON CONFLICT (id) DO UPDATE SET priority = EXCLUDED.priority, status = EXCLUDED.status,
			opened_at = EXCLUDED.opened_at, first_response_secs = EXCLUDED.first_response_secs,
			resolution_secs = EXCLUDED.resolution_secs, first_response_breached = EXCLUDED.first_response_breached,
			resolution_breached = EXCLUDED.resolution_breached, satisfaction = EXCLUDED.satisfaction`
)

// write upserts the changed rows, one statement per table, in one round
// trip. Rows are written in id order so concurrent writers (a rebuild's
// swap and the live projector never overlap, but tests may) lock alike.
func (b *reportsBatch) write(ctx context.Context, tx pgx.Tx) error {
	var leads []*reportLead
	var opps []*reportOpp
	var tickets []*reportTicket
	keys := make([]string, 0, len(b.dirty))
	for k := range b.dirty {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		id := k[2:]
		switch k[0] {
		case 'l':
			leads = append(leads, b.leads[id])
		case 'o':
			opps = append(opps, b.opps[id])
		case 't':
			tickets = append(tickets, b.tickets[id])
		}
	}
	batch := &pgx.Batch{}
	for _, q := range []struct {
		sql  string
		rows any
		n    int
	}{{reportsUpsertLeads, leads, len(leads)}, {reportsUpsertOpps, opps, len(opps)}, {reportsUpsertTickets, tickets, len(tickets)}} {
		if q.n == 0 {
			continue
		}
		j, err := json.Marshal(q.rows)
		if err != nil {
			return err
		}
		batch.Queue(q.sql, string(j))
	}
	if batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, batch).Close()
}
