package readmodels

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// ReportsSchema is the DDL of the sales and service reports (projector
// "reports"): one row per lead, opportunity and ticket with exactly what the
// funnel, the pipeline and the dashboard aggregate. Every column is derived
// from event data, never from the wall clock, so a rebuild reproduces it.
//
// reached is the furthest stage reached, as an ordinal: for leads 0
// captured, 1 contacted, 2 qualified, 3 converted; for opportunities the
// furthest open stage, 0 prospecting, 1 qualification, 2 proposal, 3
// negotiation (a deal that is won now counts in every stage and in
// closed_won through its status; reopened, it counts as far as it got).
// secs_<stage> is the total time an opportunity spent in an open stage over
// the stays it has left (NULL while it never left it).
const ReportsSchema = `
CREATE TABLE report_leads (
	id          text COLLATE "C" PRIMARY KEY,
	owner_id    text NOT NULL DEFAULT '',
	source      text NOT NULL DEFAULT '',
	campaign    text NOT NULL DEFAULT '',
	captured_at timestamptz NOT NULL,
	reached     smallint NOT NULL
);
CREATE INDEX report_leads_captured ON report_leads (captured_at);

CREATE TABLE report_opportunities (
	id                  text COLLATE "C" PRIMARY KEY,
	lead_id             text NOT NULL DEFAULT '',
	owner_id            text NOT NULL DEFAULT '',
	source              text NOT NULL DEFAULT '',
	campaign            text NOT NULL DEFAULT '',
	opened_at           timestamptz NOT NULL,
	status              text NOT NULL,
	stage               text NOT NULL,
	stage_entered_at    timestamptz NOT NULL,
	reached             smallint NOT NULL,
	probability         integer NOT NULL,
	amount              numeric NOT NULL,
	currency            text NOT NULL,
	expected_close_date date NOT NULL,
	closed_at           timestamptz,
	secs_prospecting    bigint,
	secs_qualification  bigint,
	secs_proposal       bigint,
	secs_negotiation    bigint
);
CREATE INDEX report_opportunities_opened ON report_opportunities (opened_at);
CREATE INDEX report_opportunities_status ON report_opportunities (status, closed_at);

CREATE TABLE report_tickets (
	id                      text COLLATE "C" PRIMARY KEY,
	priority                text NOT NULL,
	status                  text NOT NULL,
	opened_at               timestamptz NOT NULL,
	first_response_secs     numeric,
	resolution_secs         numeric,
	first_response_breached boolean NOT NULL DEFAULT false,
	resolution_breached     boolean NOT NULL DEFAULT false,
	satisfaction            integer
);
CREATE INDEX report_tickets_opened ON report_tickets (opened_at);
`

// reportsSchema qualifies the report tables in queries.
const reportsSchema = ReportsSchemaName + "."

// Lead and opportunity funnel stages, in order.
var (
	LeadFunnelStages        = []string{"captured", "contacted", "qualified", "converted"}
	OpportunityFunnelStages = []string{"prospecting", "qualification", "proposal", "negotiation", "closed_won"}
)

// Funnel grouping keys.
const (
	GroupByOwner    = "owner"
	GroupBySource   = "source"
	GroupByCampaign = "campaign"
	// GroupByTeam groups by the owner's team in the users directory (as
	// it is now).
	GroupByTeam = "team"
)

// FunnelFilter narrows the funnel: leads by capture time and opportunities
// by opening time, From inclusive, To exclusive; GroupBy adds groups.
type FunnelFilter struct {
	From, To *time.Time
	GroupBy  string
}

// Funnel is GET /v1/reports/funnel.
type Funnel struct {
	Leads         LeadFunnel         `json:"leads"`
	Opportunities OpportunityFunnel  `json:"opportunities"`
	Groups        []FunnelGroup      `json:"groups,omitempty"`
	GroupBy       *string            `json:"group_by"`
	Range         map[string]*string `json:"range"`
}

// LeadFunnel counts leads by the furthest stage reached.
type LeadFunnel struct {
	Stages []FunnelStage `json:"stages"`
}

// OpportunityFunnel counts opportunities by the furthest stage reached,
// with the won and lost counts and the win rate.
type OpportunityFunnel struct {
	Stages  []FunnelStage `json:"stages"`
	Won     int64         `json:"won"`
	Lost    int64         `json:"lost"`
	WinRate *float64      `json:"win_rate"`
}

// FunnelStage is one stage: how many reached it or a later stage, that
// count over the previous stage's (nil for the first stage or after a stage
// nobody reached) and, for open opportunity stages, the average days spent
// in it over the stays that have ended (null when none has; absent on lead
// stages and closed_won).
type FunnelStage struct {
	Stage          string   `json:"stage"`
	Count          int64    `json:"count"`
	ConversionRate *float64 `json:"conversion_rate"`
	AvgDaysInStage *float64 `json:"avg_days_in_stage"`
	// HasDays tells whether avg_days_in_stage belongs to this stage.
	HasDays bool `json:"-"`
}

// MarshalJSON writes avg_days_in_stage only where HasDays is set.
func (s FunnelStage) MarshalJSON() ([]byte, error) {
	if s.HasDays {
		type withDays FunnelStage
		return json.Marshal(withDays(s))
	}
	return json.Marshal(struct {
		Stage          string   `json:"stage"`
		Count          int64    `json:"count"`
		ConversionRate *float64 `json:"conversion_rate"`
	}{s.Stage, s.Count, s.ConversionRate})
}

// FunnelGroup is the funnel of one owner, source or campaign. Key is nil
// for records without one.
type FunnelGroup struct {
	Key *string `json:"key"`
	// Name is the owner's name, on groups by owner.
	Name          string            `json:"name,omitempty"`
	Leads         LeadFunnel        `json:"leads"`
	Opportunities OpportunityFunnel `json:"opportunities"`
}

// ratio is n/d rounded to 4 places, nil when d is 0.
func ratio(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	r, _ := decimal.NewFromInt(n).DivRound(decimal.NewFromInt(d), 4).Float64()
	return &r
}

// timeRange adds "col >= from AND col < to" conditions.
func timeRange(col string, from, to *time.Time, where []string, args []any) ([]string, []any) {
	if from != nil {
		args = append(args, *from)
		where = append(where, fmt.Sprintf("%s >= $%d", col, len(args)))
	}
	if to != nil {
		args = append(args, *to)
		where = append(where, fmt.Sprintf("%s < $%d", col, len(args)))
	}
	return where, args
}

func whereClause(where []string) string {
	if len(where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(where, " AND ")
}

// groupColumn maps a group_by value to its column ("" for no grouping).
func groupColumn(groupBy string) (string, error) {
	switch groupBy {
	case "":
		return "", nil
	case GroupByOwner:
		return "owner_id", nil
	case GroupBySource:
		return "source", nil
	case GroupByCampaign:
		return "campaign", nil
	case GroupByTeam:
		return `coalesce((SELECT u.team FROM ` + DirectorySchemaName + `.users u WHERE u.id = owner_id), '')`, nil
	}
	return "", fmt.Errorf("%w: group_by must be owner, team, source or campaign", ErrInvalid)
}

// Funnel computes the lead and opportunity funnels, and per group when
// f.GroupBy is set.
func (q *Queries) Funnel(ctx context.Context, f FunnelFilter) (Funnel, error) {
	col, err := groupColumn(f.GroupBy)
	if err != nil {
		return Funnel{}, err
	}
	keyExpr := "''"
	if col != "" {
		keyExpr = col
	}
	t := newFunnelTally()
	if err := q.countLeadFunnel(ctx, f, keyExpr, t); err != nil {
		return Funnel{}, err
	}
	if err := q.countOpportunityFunnel(ctx, f, keyExpr, t); err != nil {
		return Funnel{}, err
	}
	out := Funnel{Range: map[string]*string{"from": timeString(f.From), "to": timeString(f.To)}}
	out.Leads, out.Opportunities = t.total.funnels()
	if col != "" {
		g := f.GroupBy
		out.GroupBy = &g
		out.Groups = t.funnelGroups()
		if f.GroupBy == GroupByOwner {
			if err := q.nameOwners(ctx, out.Groups); err != nil {
				return Funnel{}, err
			}
		}
	}
	return out, nil
}

// nameOwners sets each owner group's name from the users directory.
func (q *Queries) nameOwners(ctx context.Context, groups []FunnelGroup) error {
	var ids []string
	for _, g := range groups {
		if g.Key != nil {
			ids = append(ids, *g.Key)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.pool.Query(ctx, `SELECT id, name FROM `+DirectorySchemaName+`.users WHERE id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("owner names: %w", err)
	}
	names := map[string]string{}
	var id, name string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil }); err != nil {
		return fmt.Errorf("owner names: %w", err)
	}
	for i := range groups {
		if groups[i].Key != nil {
			groups[i].Name = names[*groups[i].Key]
		}
	}
	return nil
}

// funnelCounts are the funnel counts of one group (or of all).
type funnelCounts struct {
	leads [4]int64
	opps  [5]int64
	days  [4]*float64
	won   int64
	lost  int64
}

// funnelTally gathers the funnel counts per group key and in total.
type funnelTally struct {
	groups map[string]*funnelCounts
	order  []string
	total  funnelCounts
}

func newFunnelTally() *funnelTally { return &funnelTally{groups: map[string]*funnelCounts{}} }

// group returns the counts of group key, added when new.
func (t *funnelTally) group(key string) *funnelCounts {
	c, ok := t.groups[key]
	if !ok {
		c = &funnelCounts{}
		t.groups[key] = c
		t.order = append(t.order, key)
	}
	return c
}

// countLeadFunnel counts the leads captured in f's range that reached
// each stage, per keyExpr.
func (q *Queries) countLeadFunnel(ctx context.Context, f FunnelFilter, keyExpr string, t *funnelTally) error {
	lw, la := timeRange("captured_at", f.From, f.To, nil, nil)
	rows, err := q.pool.Query(ctx, `SELECT `+keyExpr+` AS k,
		count(*), count(*) FILTER (WHERE reached >= 1), count(*) FILTER (WHERE reached >= 2), count(*) FILTER (WHERE reached >= 3)
		FROM `+reportsSchema+`report_leads`+whereClause(lw)+` GROUP BY k`, la...)
	if err != nil {
		return fmt.Errorf("lead funnel: %w", err)
	}
	var key string
	var l [4]int64
	if _, err := pgx.ForEachRow(rows, []any{&key, &l[0], &l[1], &l[2], &l[3]}, func() error {
		c := t.group(key)
		for i := range l {
			c.leads[i] += l[i]
			t.total.leads[i] += l[i]
		}
		return nil
	}); err != nil {
		return fmt.Errorf("lead funnel: %w", err)
	}
	return nil
}

// countOpportunityFunnel counts the opportunities opened in f's range
// that reached each stage, won and lost, and the average days spent in
// each open stage, per keyExpr.
func (q *Queries) countOpportunityFunnel(ctx context.Context, f FunnelFilter, keyExpr string, t *funnelTally) error {
	ow, oa := timeRange("opened_at", f.From, f.To, nil, nil)
	rows, err := q.pool.Query(ctx, `SELECT `+keyExpr+` AS k,
		count(*), count(*) FILTER (WHERE reached >= 1 OR status = 'won'), count(*) FILTER (WHERE reached >= 2 OR status = 'won'),
		count(*) FILTER (WHERE reached >= 3 OR status = 'won'), count(*) FILTER (WHERE status = 'won'),
		count(*) FILTER (WHERE status = 'won'), count(*) FILTER (WHERE status = 'lost'),
		sum(secs_prospecting), count(secs_prospecting), sum(secs_qualification), count(secs_qualification),
		sum(secs_proposal), count(secs_proposal), sum(secs_negotiation), count(secs_negotiation)
		FROM `+reportsSchema+`report_opportunities`+whereClause(ow)+` GROUP BY k`, oa...)
	if err != nil {
		return fmt.Errorf("opportunity funnel: %w", err)
	}
	var key string
	var o [5]int64
	var won, lost int64
	var secs, stays [4]*int64
	totalSecs, totalStays := [4]int64{}, [4]int64{}
	groupSecs := map[string]*[8]int64{}
	if _, err := pgx.ForEachRow(rows, []any{&key, &o[0], &o[1], &o[2], &o[3], &o[4], &won, &lost,
		&secs[0], &stays[0], &secs[1], &stays[1], &secs[2], &stays[2], &secs[3], &stays[3]}, func() error {
		c := t.group(key)
		for i := range o {
			c.opps[i] += o[i]
			t.total.opps[i] += o[i]
		}
		c.won += won
		c.lost += lost
		t.total.won += won
		t.total.lost += lost
		gs := &[8]int64{}
		groupSecs[key] = gs
		for i := range secs {
			if secs[i] != nil {
				gs[i] += *secs[i]
				totalSecs[i] += *secs[i]
			}
			if stays[i] != nil {
				gs[4+i] += *stays[i]
				totalStays[i] += *stays[i]
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("opportunity funnel: %w", err)
	}
	for k, gs := range groupSecs {
		for i := 0; i < 4; i++ {
			t.groups[k].days[i] = avgDaysOf(gs[i], gs[4+i])
		}
	}
	for i := 0; i < 4; i++ {
		t.total.days[i] = avgDaysOf(totalSecs[i], totalStays[i])
	}
	return nil
}

// funnels turns counts into the lead and opportunity funnels, with the
// conversion rate from each stage to the next.
func (c *funnelCounts) funnels() (LeadFunnel, OpportunityFunnel) {
	lf := LeadFunnel{Stages: make([]FunnelStage, len(LeadFunnelStages))}
	for i, s := range LeadFunnelStages {
		lf.Stages[i] = FunnelStage{Stage: s, Count: c.leads[i]}
		if i > 0 {
			lf.Stages[i].ConversionRate = ratio(c.leads[i], c.leads[i-1])
		}
	}
	of := OpportunityFunnel{Stages: make([]FunnelStage, len(OpportunityFunnelStages)), Won: c.won, Lost: c.lost,
		WinRate: ratio(c.won, c.won+c.lost)}
	for i, s := range OpportunityFunnelStages {
		of.Stages[i] = FunnelStage{Stage: s, Count: c.opps[i]}
		if i > 0 {
			of.Stages[i].ConversionRate = ratio(c.opps[i], c.opps[i-1])
		}
		if i < 4 {
			of.Stages[i].AvgDaysInStage, of.Stages[i].HasDays = c.days[i], true
		}
	}
	return lf, of
}

// funnelGroups are the funnels of every group, by key.
func (t *funnelTally) funnelGroups() []FunnelGroup {
	out := []FunnelGroup{}
	slices.Sort(t.order)
	for _, k := range t.order {
		fg := FunnelGroup{}
		if k != "" {
			kk := k
			fg.Key = &kk
		}
		fg.Leads, fg.Opportunities = t.groups[k].funnels()
		out = append(out, fg)
	}
	return out
}

// avgDaysOf is secs/stays in days rounded to 2 places, nil without stays.
func avgDaysOf(secs, stays int64) *float64 {
	if stays == 0 {
		return nil
	}
	d, _ := decimal.NewFromInt(secs).DivRound(decimal.NewFromInt(stays*86400), 2).Float64()
	return &d
}

func timeString(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// Money is an amount in one currency; Amount is a decimal string with at
// least two decimals.
type Money struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

// money formats a numeric text with at least two and at most four
// decimals (amounts carry up to four).
func money(numeric string) (string, error) {
	d, err := decimal.NewFromString(numeric)
	if err != nil {
		return "", fmt.Errorf("amount %q: %w", numeric, err)
	}
	d = d.Round(4)
	places := int32(2)
	if e := -d.Exponent(); e > places {
		places = e
	}
	s := d.StringFixed(places)
	for places > 2 && strings.HasSuffix(s, "0") {
		s = s[:len(s)-1]
		places--
	}
	return s, nil
}

// PipelineStage is one open stage's deals in one currency.
type PipelineStage struct {
	Stage          string `json:"stage"`
	Currency       string `json:"currency"`
	Probability    int    `json:"probability"`
	Count          int64  `json:"count"`
	Amount         string `json:"amount"`
	WeightedAmount string `json:"weighted_amount"`
}

// PipelineMonth is the open deals expected to close in one month, in one
// currency.
type PipelineMonth struct {
	Month          string `json:"month"`
	Currency       string `json:"currency"`
	Count          int64  `json:"count"`
	Amount         string `json:"amount"`
	WeightedAmount string `json:"weighted_amount"`
}

// PipelineTotal is every open deal in one currency.
type PipelineTotal struct {
	Currency       string `json:"currency"`
	Count          int64  `json:"count"`
	Amount         string `json:"amount"`
	WeightedAmount string `json:"weighted_amount"`
}

// Pipeline is GET /v1/reports/pipeline: the open opportunities by stage
// and by expected close month, per currency. Weighted amounts are amount ×
// stage probability, in decimal arithmetic.
type Pipeline struct {
	Stages       []PipelineStage `json:"stages"`
	ByCloseMonth []PipelineMonth `json:"by_close_month"`
	Totals       []PipelineTotal `json:"totals"`
}

// Pipeline computes the open pipeline. Every open stage is listed for every
// currency that has open deals (zero rows included); stages are in
// pipeline order within a currency, currencies in code order.
func (q *Queries) Pipeline(ctx context.Context) (Pipeline, error) {
	return PipelineIn(ctx, q.pool, ReportsSchemaName)
}

// PipelineIn is Pipeline over the report tables in schema (a replay's, for
// the pipeline as of a past moment).
func PipelineIn(ctx context.Context, db DB, schema string) (Pipeline, error) {
	qs := pgx.Identifier{schema}.Sanitize() + "."
	out := Pipeline{Stages: []PipelineStage{}, ByCloseMonth: []PipelineMonth{}, Totals: []PipelineTotal{}}
	totals, err := openByCurrency(ctx, db, qs)
	if err != nil {
		return out, err
	}
	out.Totals = append(out.Totals, totals...)
	var amount, weighted string

	rows, err := db.Query(ctx, `SELECT c.currency, s.stage, s.probability, count(o.id),
			coalesce(sum(o.amount), 0)::text, coalesce(sum(o.amount * o.probability / 100), 0)::text
		FROM (SELECT DISTINCT currency FROM `+qs+`report_opportunities WHERE status = 'open') c
		CROSS JOIN unnest($1::text[], $2::int[]) WITH ORDINALITY AS s(stage, probability, ord)
		LEFT JOIN `+qs+`report_opportunities o
			ON o.status = 'open' AND o.currency = c.currency AND o.stage = s.stage
		GROUP BY c.currency, s.stage, s.probability, s.ord
		ORDER BY c.currency COLLATE "C", s.ord`, pipelineStages, pipelineProbabilities)
	if err != nil {
		return out, fmt.Errorf("pipeline stages: %w", err)
	}
	var s PipelineStage
	if _, err := pgx.ForEachRow(rows, []any{&s.Currency, &s.Stage, &s.Probability, &s.Count, &amount, &weighted}, func() error {
		var err error
		if s.Amount, s.WeightedAmount, err = moneyPair(amount, weighted); err != nil {
			return err
		}
		out.Stages = append(out.Stages, s)
		return nil
	}); err != nil {
		return out, fmt.Errorf("pipeline stages: %w", err)
	}

	rows, err = db.Query(ctx, `SELECT to_char(expected_close_date, 'YYYY-MM') AS month, currency, count(*),
			sum(amount)::text, sum(amount * probability / 100)::text
		FROM `+qs+`report_opportunities WHERE status = 'open'
		GROUP BY month, currency ORDER BY month, currency COLLATE "C"`)
	if err != nil {
		return out, fmt.Errorf("pipeline by month: %w", err)
	}
	var m PipelineMonth
	if _, err := pgx.ForEachRow(rows, []any{&m.Month, &m.Currency, &m.Count, &amount, &weighted}, func() error {
		var err error
		if m.Amount, m.WeightedAmount, err = moneyPair(amount, weighted); err != nil {
			return err
		}
		out.ByCloseMonth = append(out.ByCloseMonth, m)
		return nil
	}); err != nil {
		return out, fmt.Errorf("pipeline by month: %w", err)
	}
	return out, nil
}

// openByCurrency is every open deal per currency: count, amount and
// weighted amount (amount × stage probability), currencies in code order.
func openByCurrency(ctx context.Context, db DB, s string) ([]PipelineTotal, error) {
	rows, err := db.Query(ctx, `SELECT currency, count(*), sum(amount)::text, sum(amount * probability / 100)::text
		FROM `+s+`report_opportunities WHERE status = 'open' GROUP BY currency ORDER BY currency COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("open pipeline: %w", err)
	}
	var out []PipelineTotal
	var t PipelineTotal
	var amount, weighted string
	if _, err := pgx.ForEachRow(rows, []any{&t.Currency, &t.Count, &amount, &weighted}, func() error {
		var err error
		if t.Amount, t.WeightedAmount, err = moneyPair(amount, weighted); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("open pipeline: %w", err)
	}
	return out, nil
}

// moneyPair formats an amount and its weighted amount.
func moneyPair(amount, weighted string) (string, string, error) {
	a, err := money(amount)
	if err != nil {
		return "", "", err
	}
	w, err := money(weighted)
	return a, w, err
}

// The open stages and their probabilities, for the pipeline's stage rows
// (the domain's defaults; a projections test keeps them equal).
var (
	pipelineStages        = OpportunityFunnelStages[:4]
	pipelineProbabilities = []int32{10, 30, 60, 80}
)

// StageProbability is the pipeline's probability of an open stage in
// percent (0 for any other).
func StageProbability(stage string) int {
	if i := slices.Index(pipelineStages, stage); i >= 0 {
		return int(pipelineProbabilities[i])
	}
	return 0
}

// DashboardFilter narrows the dashboard's period figures: deals by closing
// time, tickets by opening time; From inclusive, To exclusive.
type DashboardFilter struct {
	From, To *time.Time
}

// Dashboard is GET /v1/reports/dashboard.
type Dashboard struct {
	Range   map[string]*string `json:"range"`
	Sales   SalesDashboard     `json:"sales"`
	Service ServiceDashboard   `json:"service"`
}

// SalesDashboard: the open pipeline now, and the deals closed in the period.
type SalesDashboard struct {
	OpenCount             int64    `json:"open_count"`
	OpenPipeline          []Money  `json:"open_pipeline"`
	WeightedPipeline      []Money  `json:"weighted_pipeline"`
	WonCount              int64    `json:"won_count"`
	WonAmount             []Money  `json:"won_amount"`
	LostCount             int64    `json:"lost_count"`
	WinRate               *float64 `json:"win_rate"`
	AverageDealSize       []Money  `json:"average_deal_size"`
	AverageSalesCycleDays *float64 `json:"average_sales_cycle_days"`
}

// ServiceDashboard: the open tickets now, and the tickets opened in the
// period.
type ServiceDashboard struct {
	OpenTickets                 int64            `json:"open_tickets"`
	OpenByPriority              map[string]int64 `json:"open_by_priority"`
	TicketsOpened               int64            `json:"tickets_opened"`
	SLABreaches                 SLABreaches      `json:"sla_breaches"`
	AverageFirstResponseSeconds *float64         `json:"average_first_response_seconds"`
	AverageResolutionSeconds    *float64         `json:"average_resolution_seconds"`
	AverageSatisfaction         *float64         `json:"average_satisfaction"`
	SatisfactionResponses       int64            `json:"satisfaction_responses"`
	// ResolvedWithArticle counts the period's tickets that are resolved or
	// closed and had a knowledge-base article linked.
	ResolvedWithArticle int64 `json:"tickets_resolved_with_article"`
}

// SLABreaches counts recorded breaches: late first responses, late
// resolutions, and tickets with either.
type SLABreaches struct {
	FirstResponse int64 `json:"first_response"`
	Resolution    int64 `json:"resolution"`
	Tickets       int64 `json:"tickets"`
}

// Dashboard computes the sales and service dashboard.
func (q *Queries) Dashboard(ctx context.Context, f DashboardFilter) (Dashboard, error) {
	d := Dashboard{Range: map[string]*string{"from": timeString(f.From), "to": timeString(f.To)},
		Sales:   SalesDashboard{OpenPipeline: []Money{}, WeightedPipeline: []Money{}, WonAmount: []Money{}, AverageDealSize: []Money{}},
		Service: ServiceDashboard{OpenByPriority: map[string]int64{"urgent": 0, "high": 0, "normal": 0, "low": 0}}}
	totals, err := openByCurrency(ctx, q.pool, reportsSchema)
	if err != nil {
		return d, err
	}
	for _, t := range totals {
		d.Sales.OpenCount += t.Count
		d.Sales.OpenPipeline = append(d.Sales.OpenPipeline, Money{t.Currency, t.Amount})
		d.Sales.WeightedPipeline = append(d.Sales.WeightedPipeline, Money{t.Currency, t.WeightedAmount})
	}
	var cur, amount string
	var n int64

	cw, ca := timeRange("closed_at", f.From, f.To, []string{"status = 'won'"}, nil)
	rows, err := q.pool.Query(ctx, `SELECT currency, count(*), sum(amount)::text, (sum(amount) / count(*))::text
		FROM `+reportsSchema+`report_opportunities`+whereClause(cw)+` GROUP BY currency ORDER BY currency COLLATE "C"`, ca...)
	if err != nil {
		return d, fmt.Errorf("dashboard won: %w", err)
	}
	var avg string
	if _, err := pgx.ForEachRow(rows, []any{&cur, &n, &amount, &avg}, func() error {
		a, v, err := moneyPair(amount, avg)
		if err != nil {
			return err
		}
		d.Sales.WonCount += n
		d.Sales.WonAmount = append(d.Sales.WonAmount, Money{cur, a})
		d.Sales.AverageDealSize = append(d.Sales.AverageDealSize, Money{cur, v})
		return nil
	}); err != nil {
		return d, fmt.Errorf("dashboard won: %w", err)
	}
	var cycleSecs, cycleN int64
	if err := q.pool.QueryRow(ctx, `SELECT coalesce(sum(extract(epoch FROM closed_at - opened_at))::bigint, 0), count(*)
		FROM `+reportsSchema+`report_opportunities`+whereClause(cw), ca...).Scan(&cycleSecs, &cycleN); err != nil {
		return d, fmt.Errorf("dashboard sales cycle: %w", err)
	}
	d.Sales.AverageSalesCycleDays = avgDaysOf(cycleSecs, cycleN)
	lw, la := timeRange("closed_at", f.From, f.To, []string{"status = 'lost'"}, nil)
	if err := q.pool.QueryRow(ctx, `SELECT count(*) FROM `+reportsSchema+`report_opportunities`+whereClause(lw), la...).
		Scan(&d.Sales.LostCount); err != nil {
		return d, fmt.Errorf("dashboard lost: %w", err)
	}
	d.Sales.WinRate = ratio(d.Sales.WonCount, d.Sales.WonCount+d.Sales.LostCount)

	rows, err = q.pool.Query(ctx, `SELECT priority, count(*) FROM `+reportsSchema+`report_tickets
		WHERE status = 'open' GROUP BY priority`)
	if err != nil {
		return d, fmt.Errorf("dashboard open tickets: %w", err)
	}
	var prio string
	if _, err := pgx.ForEachRow(rows, []any{&prio, &n}, func() error {
		d.Service.OpenByPriority[prio] = n
		d.Service.OpenTickets += n
		return nil
	}); err != nil {
		return d, fmt.Errorf("dashboard open tickets: %w", err)
	}
	tw, ta := timeRange("opened_at", f.From, f.To, nil, nil)
	var frSum, resSum float64
	var frN, resN, satSum, satN int64
	s := &d.Service
	if err := q.pool.QueryRow(ctx, `SELECT count(*),
			count(*) FILTER (WHERE first_response_breached), count(*) FILTER (WHERE resolution_breached),
			count(*) FILTER (WHERE first_response_breached OR resolution_breached),
			coalesce(sum(first_response_secs), 0), count(first_response_secs),
			coalesce(sum(resolution_secs), 0), count(resolution_secs),
			coalesce(sum(satisfaction), 0), count(satisfaction)
		FROM `+reportsSchema+`report_tickets`+whereClause(tw), ta...).Scan(&s.TicketsOpened,
		&s.SLABreaches.FirstResponse, &s.SLABreaches.Resolution, &s.SLABreaches.Tickets,
		&frSum, &frN, &resSum, &resN, &satSum, &satN); err != nil {
		return d, fmt.Errorf("dashboard tickets: %w", err)
	}
	s.AverageFirstResponseSeconds = avgSecondsOf(frSum, frN)
	s.AverageResolutionSeconds = avgSecondsOf(resSum, resN)
	s.AverageSatisfaction = avgOf(satSum, satN, 2)
	s.SatisfactionResponses = satN
	kw, ka := timeRange("opened_at", f.From, f.To, []string{"status IN ('resolved', 'closed')",
		"EXISTS (SELECT 1 FROM " + engagementSchema + ".ticket_articles k WHERE k.ticket_id = report_tickets.id)"}, nil)
	if err := q.pool.QueryRow(ctx, `SELECT count(*) FROM `+reportsSchema+`report_tickets`+whereClause(kw), ka...).
		Scan(&s.ResolvedWithArticle); err != nil {
		return d, fmt.Errorf("dashboard tickets resolved with an article: %w", err)
	}
	return d, nil
}

// avgSecondsOf is sum/n seconds to the millisecond, nil when n is 0: a
// response within the second is not reported as zero.
func avgSecondsOf(sum float64, n int64) *float64 {
	if n == 0 {
		return nil
	}
	v := math.Round(sum/float64(n)*1000) / 1000
	return &v
}

// avgOf is sum/n rounded to places, nil when n is 0.
func avgOf(sum, n int64, places int32) *float64 {
	if n == 0 {
		return nil
	}
	v, _ := decimal.NewFromInt(sum).DivRound(decimal.NewFromInt(n), places).Float64()
	return &v
}
