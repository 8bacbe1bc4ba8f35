package readmodels

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// CampaignReportRow is one campaign of GET /v1/reports/campaigns, with
// first-touch attribution: a lead belongs to the campaign it was captured
// with, and the opportunities its conversion opened, won or not, belong
// to that campaign too. Money is decimal text in the campaign's currency
// (won deals in another currency count in WonCount but not in
// WonAmount); the ratios are null when their divisor is zero.
type CampaignReportRow struct {
	CampaignID     string   `json:"campaign_id"`
	Name           string   `json:"name"`
	Channel        string   `json:"channel"`
	Status         string   `json:"status"`
	StartDate      string   `json:"start_date"`
	EndDate        *string  `json:"end_date"`
	Currency       string   `json:"currency"`
	Budget         string   `json:"budget"`
	Cost           string   `json:"cost"`
	Leads          int      `json:"leads"`
	Qualified      int      `json:"qualified"`
	Converted      int      `json:"converted"`
	Opportunities  int      `json:"opportunities"`
	WonCount       int      `json:"won_count"`
	WonAmount      string   `json:"won_amount"`
	CostPerLead    *string  `json:"cost_per_lead"`
	CostPerWonDeal *string  `json:"cost_per_won_deal"`
	ROI            *float64 `json:"roi"`
}

// CampaignReport is the body of GET /v1/reports/campaigns.
type CampaignReport struct {
	Attribution string              `json:"attribution"`
	Campaigns   []CampaignReportRow `json:"campaigns"`
}

// CampaignReport returns every campaign's cost, leads, conversions, wins
// and return, oldest campaign first. ROI is (won amount − cost) / cost,
// rounded to 4 decimals; cost per lead and per won deal are rounded to 2.
// Qualified counts leads that are qualified or converted.
func (q *Queries) CampaignReport(ctx context.Context) (CampaignReport, error) {
	rows, err := q.pool.Query(ctx, `
WITH l AS (
	SELECT campaign, count(*) AS leads,
		count(*) FILTER (WHERE status IN ('qualified', 'converted')) AS qualified,
		count(*) FILTER (WHERE status = 'converted') AS converted
	FROM `+listsSchema+`.leads WHERE campaign <> '' GROUP BY campaign
), o AS (
	SELECT l.campaign, o.currency, count(*) AS opportunities,
		count(*) FILTER (WHERE o.stage = 'closed_won') AS won,
		coalesce(sum(o.amount) FILTER (WHERE o.stage = 'closed_won'), 0) AS won_amount
	FROM `+listsSchema+`.opportunities o JOIN `+listsSchema+`.leads l ON l.id = o.lead_id
	WHERE o.lead_id <> '' AND l.campaign <> '' GROUP BY l.campaign, o.currency
)
SELECT c.id, c.name, c.channel, c.status, to_char(c.start_date, 'YYYY-MM-DD'), to_char(c.end_date, 'YYYY-MM-DD'),
	c.currency, to_char(c.budget, 'FM999999999999990.00'), to_char(c.actual_cost, 'FM999999999999990.00'),
	coalesce(l.leads, 0), coalesce(l.qualified, 0), coalesce(l.converted, 0),
	coalesce((SELECT sum(opportunities) FROM o WHERE o.campaign = c.id), 0)::int,
	coalesce((SELECT sum(won) FROM o WHERE o.campaign = c.id), 0)::int,
	coalesce((SELECT won_amount FROM o WHERE o.campaign = c.id AND o.currency = c.currency), 0)::text AS won_amount
FROM `+engagementSchema+`.campaigns c LEFT JOIN l ON l.campaign = c.id
ORDER BY c.created_at, c.id`)
	if err != nil {
		return CampaignReport{}, fmt.Errorf("campaign report: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CampaignReportRow, error) {
		var c CampaignReportRow
		err := r.Scan(&c.CampaignID, &c.Name, &c.Channel, &c.Status, &c.StartDate, &c.EndDate, &c.Currency, &c.Budget, &c.Cost,
			&c.Leads, &c.Qualified, &c.Converted, &c.Opportunities, &c.WonCount, &c.WonAmount)
		return c, err
	})
	if err != nil {
		return CampaignReport{}, fmt.Errorf("campaign report: %w", err)
	}
	for i := range list {
		if err := q.campaignRatios(ctx, &list[i]); err != nil {
			return CampaignReport{}, err
		}
	}
	if list == nil {
		list = []CampaignReportRow{}
	}
	return CampaignReport{Attribution: "first_touch", Campaigns: list}, nil
}

// campaignRatios computes the decimal ratios of one row in PostgreSQL's
// numeric arithmetic (exact; never through floating point money).
func (q *Queries) campaignRatios(ctx context.Context, c *CampaignReportRow) error {
	var won, perLead, perWon *string
	var roi *float64
	err := q.pool.QueryRow(ctx, `SELECT to_char($1::numeric, 'FM999999999999990.00'),
		CASE WHEN $3::int > 0 THEN to_char(round($2::numeric / $3, 2), 'FM999999999999990.00') END,
		CASE WHEN $4::int > 0 THEN to_char(round($2::numeric / $4, 2), 'FM999999999999990.00') END,
		CASE WHEN $2::numeric > 0 THEN round(($1::numeric - $2::numeric) / $2::numeric, 4)::float8 END`,
		c.WonAmount, c.Cost, c.Leads, c.WonCount).Scan(&won, &perLead, &perWon, &roi)
	if err != nil {
		return fmt.Errorf("campaign report ratios: %w", err)
	}
	c.WonAmount, c.CostPerLead, c.CostPerWonDeal, c.ROI = *won, perLead, perWon, roi
	return nil
}

// AccountsByNormalizedName maps each of names (normalised company names)
// that an account has to the oldest such account's id. Before the
// engagement read model exists (no server has run on the database yet)
// it knows no account.
func (q *Queries) AccountsByNormalizedName(ctx context.Context, names []string) (map[string]string, error) {
	var exists bool
	if err := q.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, engagementSchema+".account_names").Scan(&exists); err != nil {
		return nil, fmt.Errorf("accounts by name: %w", err)
	}
	if !exists {
		return map[string]string{}, nil
	}
	rows, err := q.pool.Query(ctx, `SELECT DISTINCT ON (normalized) normalized, id FROM `+engagementSchema+`.account_names
		WHERE normalized = ANY($1) ORDER BY normalized, id`, names)
	if err != nil {
		return nil, fmt.Errorf("accounts by name: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, id string
		if err := rows.Scan(&n, &id); err != nil {
			return nil, fmt.Errorf("accounts by name: %w", err)
		}
		out[n] = id
	}
	return out, rows.Err()
}

// CampaignRow is one campaign of GET /v1/campaigns. Money is decimal
// text; EndDate is null when open-ended.
type CampaignRow struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Channel    string    `json:"channel"`
	StartDate  string    `json:"start_date"`
	EndDate    *string   `json:"end_date"`
	Budget     string    `json:"budget"`
	ActualCost string    `json:"actual_cost"`
	Currency   string    `json:"currency"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
}

// CampaignFilter selects campaigns; empty fields do not filter. Limit and
// Cursor are as in LeadFilter.
type CampaignFilter struct {
	Status, Channel string
	Limit           int
	Cursor          string
}

// Campaigns returns a page of campaigns matching f, oldest created first.
// Errors: ErrInvalid for a malformed cursor, limit or filter value.
func (q *Queries) Campaigns(ctx context.Context, f CampaignFilter) (Page[CampaignRow], error) {
	var w where
	if err := w.equal("status", "status", f.Status); err != nil {
		return Page[CampaignRow]{}, err
	}
	if err := w.equal("channel", "channel", f.Channel); err != nil {
		return Page[CampaignRow]{}, err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return Page[CampaignRow]{}, fmt.Errorf("%w: limit must be from 1 to %d", ErrInvalid, MaxLimit)
	}
	if f.Cursor != "" {
		at, id, err := decodeTimeCursor(f.Cursor)
		if err != nil {
			return Page[CampaignRow]{}, err
		}
		w.conds = append(w.conds, fmt.Sprintf("(created_at, id) > (%s::timestamptz, %s::text)", w.arg(at), w.arg(id)))
	}
	sql := `SELECT id, name, channel, to_char(start_date, 'YYYY-MM-DD'), to_char(end_date, 'YYYY-MM-DD'),
		budget::text, actual_cost::text, currency, status, created_at FROM ` + engagementSchema + `.campaigns`
	if len(w.conds) > 0 {
		sql += " WHERE " + strings.Join(w.conds, " AND ")
	}
	sql += " ORDER BY created_at, id LIMIT " + w.arg(limit+1)
	rows, err := q.pool.Query(ctx, sql, w.args...)
	if err != nil {
		return Page[CampaignRow]{}, fmt.Errorf("list campaigns: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CampaignRow, error) {
		var c CampaignRow
		err := r.Scan(&c.ID, &c.Name, &c.Channel, &c.StartDate, &c.EndDate, &c.Budget, &c.ActualCost, &c.Currency, &c.Status, &c.CreatedAt)
		c.CreatedAt = c.CreatedAt.UTC()
		return c, err
	})
	if err != nil {
		return Page[CampaignRow]{}, fmt.Errorf("list campaigns: %w", err)
	}
	page := Page[CampaignRow]{Items: items}
	if page.Items == nil {
		page.Items = []CampaignRow{}
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		c := encodeTimeCursor(page.Items[limit-1].CreatedAt, page.Items[limit-1].ID)
		page.NextCursor = &c
	}
	return page, nil
}
