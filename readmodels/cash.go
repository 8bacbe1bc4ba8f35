package readmodels

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"
)

// CashProjector builds the lead-to-cash tables (CashSchema): opportunities
// with their forecast figures, targets, forecast adjustments, orders,
// installments and payments.
const CashProjector = "cash"

// CashSchemaName is the live schema of the lead-to-cash tables.
const CashSchemaName = SchemaPrefix + CashProjector

// CashSchema is the DDL of the lead-to-cash read model. Every column is
// derived from event data, never from the wall clock, so a rebuild, or a
// replay up to a past moment, reproduces it.
const CashSchema = `
CREATE TABLE cash_opportunities (
	id                  text COLLATE "C" PRIMARY KEY,
	owner_id            text COLLATE "C" NOT NULL DEFAULT '',
	stage               text NOT NULL,
	amount              numeric NOT NULL,
	currency            text COLLATE "C" NOT NULL,
	expected_close_date date NOT NULL,
	closed_at           timestamptz
);
CREATE TABLE cash_targets (
	owner_id text COLLATE "C" NOT NULL,
	period   text COLLATE "C" NOT NULL,
	amount   numeric NOT NULL,
	currency text COLLATE "C" NOT NULL,
	PRIMARY KEY (owner_id, period)
);
CREATE TABLE cash_adjustments (
	owner_id    text COLLATE "C" NOT NULL,
	period      text COLLATE "C" NOT NULL,
	position    text COLLATE "C" NOT NULL,
	amount      numeric NOT NULL,
	currency    text COLLATE "C" NOT NULL,
	reason      text NOT NULL,
	actor       text NOT NULL,
	adjusted_at timestamptz NOT NULL,
	PRIMARY KEY (owner_id, period, position)
);
CREATE TABLE cash_orders (
	id             text COLLATE "C" PRIMARY KEY,
	opportunity_id text COLLATE "C" NOT NULL,
	owner_id       text COLLATE "C" NOT NULL DEFAULT '',
	currency       text COLLATE "C" NOT NULL,
	total          numeric NOT NULL,
	cancelled      boolean NOT NULL DEFAULT false,
	created_on     date NOT NULL
);
CREATE TABLE cash_installments (
	order_id text COLLATE "C" NOT NULL,
	number   integer NOT NULL,
	due_date date NOT NULL,
	amount   numeric NOT NULL,
	paid     numeric NOT NULL DEFAULT 0,
	PRIMARY KEY (order_id, number)
);
CREATE TABLE cash_payments (
	payment_id text COLLATE "C" PRIMARY KEY,
	order_id   text COLLATE "C" NOT NULL,
	amount     numeric NOT NULL,
	paid_on    date NOT NULL
);
`

// DB runs read queries: the pool, or a transaction holding a replay.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// ErrInvalidPeriod reports a period that is neither a month nor a quarter.
var ErrInvalidPeriod = errors.New("invalid period")

// ForecastFilter selects the forecast: a period ("2027-03" or "2027-Q1",
// validated by the caller, with its first day From and the first day
// after it To) and an optional grouping ("owner").
type ForecastFilter struct {
	Period   string
	From, To time.Time
	GroupBy  string
}

// ForecastFigures are one owner's (or the team's) figures in one currency.
// Amounts are decimal strings with the currency's two (or more) decimals.
type ForecastFigures struct {
	Currency string `json:"currency"`
	// Target is the period's target: the period's own, else (for a
	// quarter) the sum of its months' targets; null when none is set.
	Target *string `json:"target"`
	// ClosedWon is the amount of deals won in the period.
	ClosedWon string `json:"closed_won"`
	// Commit, BestCase and Pipeline are the open deals expected to close
	// in the period, by forecast category (negotiation; proposal;
	// prospecting and qualification).
	Commit   string `json:"commit"`
	BestCase string `json:"best_case"`
	Pipeline string `json:"pipeline"`
	// Forecast is the submitted forecast: closed won plus commit.
	Forecast string `json:"forecast"`
	// AdjustedForecast is the latest manager adjustment (null: none).
	AdjustedForecast *string `json:"adjusted_forecast"`
	// AttainmentPercent is closed won / target × 100, rounded half-even
	// to two decimals (null without a target above zero).
	AttainmentPercent *string `json:"attainment_percent"`
	// GapToTarget is target − closed won (null without a target).
	GapToTarget *string `json:"gap_to_target"`
}

// ForecastAdjustment is one manager adjustment.
type ForecastAdjustment struct {
	Amount     string    `json:"amount"`
	Currency   string    `json:"currency"`
	Reason     string    `json:"reason"`
	Actor      string    `json:"actor"`
	AdjustedAt time.Time `json:"adjusted_at"`
}

// ForecastGroup is one owner's figures in one currency, with the
// adjustments recorded for the period, oldest first.
type ForecastGroup struct {
	OwnerID string `json:"owner_id"`
	ForecastFigures
	Adjustments []ForecastAdjustment `json:"adjustments"`
}

// Forecast is GET /v1/reports/forecast.
type Forecast struct {
	Period  string            `json:"period"`
	From    string            `json:"from"`
	To      string            `json:"to"`
	GroupBy *string           `json:"group_by"`
	Totals  []ForecastFigures `json:"totals"`
	Groups  []ForecastGroup   `json:"groups"`
}

// forecastRow accumulates one owner and currency.
type forecastRow struct {
	owner, currency                       string
	target                                *decimal.Decimal
	won, commit, best, pipeline, adjusted decimal.Decimal
	hasAdjusted                           bool
	adjustments                           []ForecastAdjustment
}

// Forecast computes the live forecast.
func (q *Queries) Forecast(ctx context.Context, f ForecastFilter) (Forecast, error) {
	return ForecastIn(ctx, q.pool, CashSchemaName, f)
}

// quarterMonths returns the months of a quarter period ("2027-Q1": 2027-01,
// 2027-02, 2027-03), nil for a month.
func quarterMonths(f ForecastFilter) []string {
	if len(f.Period) != 7 || f.Period[5] != 'Q' {
		return nil
	}
	var out []string
	for m := f.From; m.Before(f.To); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// ForecastIn computes the forecast from the cash tables in schema.
func ForecastIn(ctx context.Context, db DB, schema string, f ForecastFilter) (Forecast, error) {
	s := pgx.Identifier{schema}.Sanitize() + "."
	out := Forecast{Period: f.Period, From: f.From.Format(time.DateOnly), To: f.To.AddDate(0, 0, -1).Format(time.DateOnly),
		Totals: []ForecastFigures{}, Groups: []ForecastGroup{}}
	if f.GroupBy != "" {
		g := f.GroupBy
		out.GroupBy = &g
	}
	rows := map[[2]string]*forecastRow{}
	row := func(owner, currency string) *forecastRow {
		k := [2]string{owner, currency}
		if r, ok := rows[k]; ok {
			return r
		}
		r := &forecastRow{owner: owner, currency: currency}
		rows[k] = r
		return r
	}
	// Targets: the period's own, else the sum of its months'.
	months := quarterMonths(f)
	var owner, currency, amount string
	rs, err := db.Query(ctx, `SELECT owner_id, currency, sum(amount)::text FROM (
		SELECT owner_id, currency, amount FROM `+s+`cash_targets WHERE period = $1
		UNION ALL
		SELECT t.owner_id, t.currency, t.amount FROM `+s+`cash_targets t
		WHERE t.period = ANY($2::text[]) AND NOT EXISTS (SELECT 1 FROM `+s+`cash_targets q WHERE q.owner_id = t.owner_id AND q.period = $1)
	) x GROUP BY owner_id, currency`, f.Period, months)
	if err != nil {
		return out, fmt.Errorf("forecast targets: %w", err)
	}
	if _, err := pgx.ForEachRow(rs, []any{&owner, &currency, &amount}, func() error {
		d, err := decimal.NewFromString(amount)
		if err != nil {
			return err
		}
		row(owner, currency).target = &d
		return nil
	}); err != nil {
		return out, fmt.Errorf("forecast targets: %w", err)
	}
	var won, commit, best, pipeline string
	rs, err = db.Query(ctx, `SELECT owner_id, currency,
			coalesce(sum(amount) FILTER (WHERE stage = 'closed_won' AND closed_at >= $1 AND closed_at < $2), 0)::text,
			coalesce(sum(amount) FILTER (WHERE stage = 'negotiation' AND expected_close_date >= $1::date AND expected_close_date < $2::date), 0)::text,
			coalesce(sum(amount) FILTER (WHERE stage = 'proposal' AND expected_close_date >= $1::date AND expected_close_date < $2::date), 0)::text,
			coalesce(sum(amount) FILTER (WHERE stage IN ('prospecting', 'qualification') AND expected_close_date >= $1::date AND expected_close_date < $2::date), 0)::text
		FROM `+s+`cash_opportunities
		WHERE (stage = 'closed_won' AND closed_at >= $1 AND closed_at < $2)
		   OR (stage NOT IN ('closed_won', 'closed_lost') AND expected_close_date >= $1::date AND expected_close_date < $2::date)
		GROUP BY owner_id, currency`, f.From, f.To)
	if err != nil {
		return out, fmt.Errorf("forecast deals: %w", err)
	}
	if _, err := pgx.ForEachRow(rs, []any{&owner, &currency, &won, &commit, &best, &pipeline}, func() error {
		r := row(owner, currency)
		for _, x := range []struct {
			dst *decimal.Decimal
			v   string
		}{{&r.won, won}, {&r.commit, commit}, {&r.best, best}, {&r.pipeline, pipeline}} {
			d, err := decimal.NewFromString(x.v)
			if err != nil {
				return err
			}
			*x.dst = d
		}
		return nil
	}); err != nil {
		return out, fmt.Errorf("forecast deals: %w", err)
	}
	var a ForecastAdjustment
	rs, err = db.Query(ctx, `SELECT owner_id, amount::text, currency, reason, actor, adjusted_at FROM `+s+`cash_adjustments
		WHERE period = $1 ORDER BY owner_id, position`, f.Period)
	if err != nil {
		return out, fmt.Errorf("forecast adjustments: %w", err)
	}
	if _, err := pgx.ForEachRow(rs, []any{&owner, &a.Amount, &a.Currency, &a.Reason, &a.Actor, &a.AdjustedAt}, func() error {
		d, err := decimal.NewFromString(a.Amount)
		if err != nil {
			return err
		}
		r := row(owner, a.Currency)
		a.AdjustedAt = a.AdjustedAt.UTC()
		if a.Amount, err = money(a.Amount); err != nil {
			return err
		}
		r.adjusted, r.hasAdjusted = d, true
		r.adjustments = append(r.adjustments, a)
		return nil
	}); err != nil {
		return out, fmt.Errorf("forecast adjustments: %w", err)
	}
	keys := make([][2]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	totals := map[string]*forecastRow{}
	var currencies []string
	for _, k := range keys {
		r := rows[k]
		t, ok := totals[r.currency]
		if !ok {
			t = &forecastRow{currency: r.currency}
			totals[r.currency] = t
			currencies = append(currencies, r.currency)
		}
		if r.target != nil {
			sum := r.target.Copy()
			if t.target != nil {
				sum = sum.Add(*t.target)
			}
			t.target = &sum
		}
		t.won, t.commit, t.best, t.pipeline = t.won.Add(r.won), t.commit.Add(r.commit), t.best.Add(r.best), t.pipeline.Add(r.pipeline)
		if r.hasAdjusted {
			t.adjusted, t.hasAdjusted = t.adjusted.Add(r.adjusted), true
		} else {
			// An owner without an adjustment counts with the submitted
			// forecast in the team's adjusted total.
			t.adjusted = t.adjusted.Add(r.won).Add(r.commit)
		}
		if f.GroupBy != "" {
			g := ForecastGroup{OwnerID: r.owner, ForecastFigures: r.figures(), Adjustments: r.adjustments}
			if g.Adjustments == nil {
				g.Adjustments = []ForecastAdjustment{}
			}
			out.Groups = append(out.Groups, g)
		}
	}
	sort.Strings(currencies)
	for _, c := range currencies {
		out.Totals = append(out.Totals, totals[c].figures())
	}
	return out, nil
}

// figures formats a row.
func (r *forecastRow) figures() ForecastFigures {
	m := func(d decimal.Decimal) string { s, _ := money(d.String()); return s }
	f := ForecastFigures{Currency: r.currency, ClosedWon: m(r.won), Commit: m(r.commit), BestCase: m(r.best), Pipeline: m(r.pipeline),
		Forecast: m(r.won.Add(r.commit))}
	if r.hasAdjusted {
		s := m(r.adjusted)
		f.AdjustedForecast = &s
	}
	if r.target != nil {
		t := m(*r.target)
		gap := m(r.target.Sub(r.won))
		f.Target, f.GapToTarget = &t, &gap
		if r.target.IsPositive() {
			p := r.won.Mul(decimal.NewFromInt(100)).DivRound(*r.target, 8).RoundBank(2).StringFixed(2)
			f.AttainmentPercent = &p
		}
	}
	return f
}

// Aging buckets of receivables, by days past due.
var AgingBuckets = []string{"current", "1-30", "31-60", "61-90", "90+"}

// AgingBucket is the unpaid amount of installments in one bucket.
type AgingBucket struct {
	Bucket string `json:"bucket"`
	Amount string `json:"amount"`
}

// ReceivablesTotal is one currency's receivables.
type ReceivablesTotal struct {
	Currency string `json:"currency"`
	// Billed is the total of the orders (cancelled ones excluded).
	Billed string `json:"billed"`
	// Collected is what their payments settled.
	Collected string `json:"collected"`
	// Outstanding is billed − collected.
	Outstanding string `json:"outstanding"`
	// Overdue is the unpaid part of installments due before the date.
	Overdue string `json:"overdue"`
	// Aging splits the outstanding amount by days past due: current (not
	// yet due, or due on the date), 1-30, 31-60, 61-90, 90+.
	Aging []AgingBucket `json:"aging"`
	// DaysSalesOutstanding is outstanding / the orders billed in the 90
	// days up to the date × 90, rounded to one decimal (null without
	// such orders).
	DaysSalesOutstanding *float64 `json:"days_sales_outstanding"`
}

// Receivables is GET /v1/reports/receivables: the books on a date.
type Receivables struct {
	Date       string             `json:"date"`
	Currencies []ReceivablesTotal `json:"currencies"`
}

// Receivables computes the live receivables, aged on the day of on.
func (q *Queries) Receivables(ctx context.Context, on time.Time) (Receivables, error) {
	return ReceivablesIn(ctx, q.pool, CashSchemaName, on)
}

// ReceivablesIn computes the receivables from the cash tables in schema,
// aged on the day of on (UTC).
func ReceivablesIn(ctx context.Context, db DB, schema string, on time.Time) (Receivables, error) {
	s := pgx.Identifier{schema}.Sanitize() + "."
	day := on.UTC().Format(time.DateOnly)
	out := Receivables{Date: day, Currencies: []ReceivablesTotal{}}
	rs, err := db.Query(ctx, `WITH o AS (SELECT * FROM `+s+`cash_orders WHERE NOT cancelled),
		i AS (SELECT i.*, o.currency, $1::date - i.due_date AS late FROM `+s+`cash_installments i JOIN o ON o.id = i.order_id)
		SELECT c.currency,
			(SELECT coalesce(sum(total), 0) FROM o WHERE o.currency = c.currency)::text,
			(SELECT coalesce(sum(paid), 0) FROM i WHERE i.currency = c.currency)::text,
			(SELECT coalesce(sum(amount - paid), 0) FROM i WHERE i.currency = c.currency AND late > 0)::text,
			(SELECT coalesce(sum(amount - paid), 0) FROM i WHERE i.currency = c.currency AND late <= 0)::text,
			(SELECT coalesce(sum(amount - paid), 0) FROM i WHERE i.currency = c.currency AND late BETWEEN 1 AND 30)::text,
			(SELECT coalesce(sum(amount - paid), 0) FROM i WHERE i.currency = c.currency AND late BETWEEN 31 AND 60)::text,
			(SELECT coalesce(sum(amount - paid), 0) FROM i WHERE i.currency = c.currency AND late BETWEEN 61 AND 90)::text,
			(SELECT coalesce(sum(amount - paid), 0) FROM i WHERE i.currency = c.currency AND late > 90)::text,
			(SELECT coalesce(sum(total), 0) FROM o WHERE o.currency = c.currency AND o.created_on > $1::date - 90 AND o.created_on <= $1::date)::text
		FROM (SELECT DISTINCT currency FROM o) c ORDER BY c.currency`, day)
	if err != nil {
		return out, fmt.Errorf("receivables: %w", err)
	}
	var currency, billed, collected, overdue, recent string
	buckets := make([]string, len(AgingBuckets))
	dest := []any{&currency, &billed, &collected, &overdue}
	for i := range buckets {
		dest = append(dest, &buckets[i])
	}
	dest = append(dest, &recent)
	if _, err := pgx.ForEachRow(rs, dest, func() error {
		t := ReceivablesTotal{Currency: currency, Aging: make([]AgingBucket, len(AgingBuckets))}
		b, err1 := decimal.NewFromString(billed)
		c, err2 := decimal.NewFromString(collected)
		r, err3 := decimal.NewFromString(recent)
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		owed := b.Sub(c)
		t.Billed, _ = money(billed)
		t.Collected, _ = money(collected)
		t.Outstanding, _ = money(owed.String())
		t.Overdue, _ = money(overdue)
		for i, name := range AgingBuckets {
			t.Aging[i].Bucket = name
			t.Aging[i].Amount, _ = money(buckets[i])
		}
		if r.IsPositive() {
			dso, _ := owed.Mul(decimal.NewFromInt(90)).DivRound(r, 8).Round(1).Float64()
			t.DaysSalesOutstanding = &dso
		}
		out.Currencies = append(out.Currencies, t)
		return nil
	}); err != nil {
		return out, fmt.Errorf("receivables: %w", err)
	}
	return out, nil
}
