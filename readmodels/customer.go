package readmodels

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// TimelineSource is one kind of record that belongs to an account's
// timeline: the audit entries of EntityType whose entity ids IDs selects.
// IDs is SQL selecting one text column for the account whose id is $1.
// Further kinds (quotes, orders) plug in as more sources.
type TimelineSource struct {
	Category, EntityType, IDs string
}

// DefaultTimelineSources are the account itself (with its activities),
// its contacts, the leads converted into it, its opportunities and its
// tickets.
func DefaultTimelineSources() []TimelineSource {
	return []TimelineSource{
		{Category: "account", EntityType: AuditAccount, IDs: `SELECT $1::text`},
		{Category: "contact", EntityType: AuditContact, IDs: `SELECT id FROM ` + listsSchema + `.contacts WHERE account_id = $1`},
		{Category: "lead", EntityType: AuditLead, IDs: `SELECT id FROM ` + listsSchema + `.leads WHERE account_id = $1`},
		{Category: "opportunity", EntityType: AuditOpportunity, IDs: `SELECT id FROM ` + listsSchema + `.opportunities WHERE account_id = $1`},
		{Category: "ticket", EntityType: AuditTicket, IDs: `SELECT id FROM ` + listsSchema + `.tickets WHERE account_id = $1`},
	}
}

// TimelineItem is one entry of an account's timeline: an audit entry and
// what it is part of: account, contact, lead, opportunity, ticket,
// activity (calls, meetings, notes, tasks on any of them) or campaign (a
// lead captured by a campaign, or a web form submission).
type TimelineItem struct {
	Category string `json:"category"`
	AuditEntry
}

// TimelineFilter selects an account's timeline page. Sources nil means
// DefaultTimelineSources. Limit and Cursor are as in AuditFilter.
type TimelineFilter struct {
	AccountID string
	Sources   []TimelineSource
	Limit     int
	Cursor    string
}

// Timeline returns a page of everything about an account, in log order.
// Errors: ErrInvalid for a bad limit or cursor.
func (q *Queries) Timeline(ctx context.Context, f TimelineFilter) (Page[TimelineItem], error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return Page[TimelineItem]{}, fmt.Errorf("%w: limit must be from 1 to %d", ErrInvalid, MaxLimit)
	}
	if f.Cursor != "" && !isPosition(f.Cursor) {
		return Page[TimelineItem]{}, ErrCursor
	}
	sources := f.Sources
	if sources == nil {
		sources = DefaultTimelineSources()
	}
	parts := make([]string, len(sources))
	for i, s := range sources {
		parts[i] = fmt.Sprintf("SELECT %s::text AS category, %s::text AS entity_type, ids.id::text AS id FROM (%s) AS ids(id)",
			quoteLiteral(s.Category), quoteLiteral(s.EntityType), s.IDs)
	}
	sql := `SELECT src.category, ` + prefixed("e.", auditColumns) + ` FROM ` + auditSchema + `.entries e
		JOIN (` + strings.Join(parts, "\nUNION ALL\n") + `) src ON e.entity_type = src.entity_type AND e.entity_id = src.id
		WHERE e.position > $2 ORDER BY e.position LIMIT $3`
	rows, err := q.pool.Query(ctx, sql, f.AccountID, f.Cursor, limit+1)
	if err != nil {
		return Page[TimelineItem]{}, fmt.Errorf("account timeline: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TimelineItem, error) {
		var it TimelineItem
		var cat string
		e, err := scanAuditEntryWith(r, &cat)
		it.Category, it.AuditEntry = timelineCategory(cat, e), e
		return it, err
	})
	if err != nil {
		return Page[TimelineItem]{}, fmt.Errorf("account timeline: %w", err)
	}
	page := Page[TimelineItem]{Items: items}
	if page.Items == nil {
		page.Items = []TimelineItem{}
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		c := page.Items[limit-1].Position
		page.NextCursor = &c
	}
	return page, nil
}

// timelineCategory refines a source's category by the entry's event.
func timelineCategory(source string, e AuditEntry) string {
	switch {
	case strings.HasPrefix(e.EventType, "activity.") || strings.HasPrefix(e.EventType, "task."):
		return "activity"
	case e.EventType == "lead.captured.v1":
		for _, c := range e.Changes {
			if c.Field == "campaign" && c.To != nil {
				return "campaign"
			}
		}
	case strings.HasPrefix(e.Actor, "webform:"):
		return "campaign"
	}
	return source
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// prefixed qualifies each of a comma-separated column list with p.
func prefixed(p, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// scanAuditEntryWith scans one extra leading column into first, then an
// audit entry.
func scanAuditEntryWith(row pgx.CollectableRow, first *string) (AuditEntry, error) {
	var (
		e       AuditEntry
		changes []byte
	)
	if err := row.Scan(first, &e.Position, &e.RecordedAt, &e.Actor, &e.EntityType, &e.EntityID, &e.EventType, &e.Summary,
		&changes, &e.CommandID, &e.CorrelationID, &e.CausationID); err != nil {
		return e, err
	}
	return finishAuditEntry(e, changes)
}

// Health statuses, by score: at_risk below 50, watch below 75, healthy
// from 75.
const (
	HealthAtRisk  = "at_risk"
	HealthWatch   = "watch"
	HealthHealthy = "healthy"
)

// HealthStatuses are the values of Health.Status.
var HealthStatuses = []string{HealthAtRisk, HealthWatch, HealthHealthy}

// HealthFactor is one input of the customer health score. SQL returns
// rows (account_id text, value float8) for the accounts whose ids are in
// $1 (text[]) at the time $2 (timestamptz); an account without a row has
// no value. Penalty turns a value (ok false: none) into the points it
// takes off 100 and a sentence saying why. Further factors (overdue
// payments) plug in as more HealthFactors.
type HealthFactor struct {
	Name    string
	SQL     string
	Penalty func(value float64, ok bool) (points int, detail string)
}

// healthWindow is the period ticket factors look back on.
const healthWindow = "90 days"

// DefaultHealthFactors are the built-in factors, each with its most
// points:
//
//   - ticket_volume (30): 10 per open ticket;
//   - sla_breaches (30): 15 per ticket opened in the last 90 days that
//     missed (or is past) a first-response or resolution target;
//   - satisfaction (20): average score of the last 90 days' tickets: 20
//     when 2 or below, 10 below 3.5, none without scores;
//   - activity_recency (20): days since the last activity logged on the
//     account, its opportunities or its tickets: 10 after 30 days, 20
//     after 60 days or with none;
//   - open_pipeline (10): 10 when the account has no open opportunity.
func DefaultHealthFactors() []HealthFactor {
	return []HealthFactor{
		{Name: "ticket_volume",
			SQL: `SELECT account_id, count(*)::float8 FROM ` + listsSchema + `.tickets WHERE account_id = ANY($1) AND status = 'open' AND $2::timestamptz IS NOT NULL GROUP BY account_id`,
			Penalty: func(v float64, ok bool) (int, string) {
				if !ok {
					return 0, "no open tickets"
				}
				return min(30, 10*int(v)), fmt.Sprintf("%d open tickets", int(v))
			}},
		{Name: "sla_breaches",
			SQL: `SELECT account_id, count(*)::float8 FROM ` + listsSchema + `.tickets WHERE account_id = ANY($1)
				AND opened_at > $2::timestamptz - interval '` + healthWindow + `' AND ` + fmt.Sprintf(ticketBreached, "$2::timestamptz") + ` GROUP BY account_id`,
			Penalty: func(v float64, ok bool) (int, string) {
				if !ok {
					return 0, "no SLA breaches in the last 90 days"
				}
				return min(30, 15*int(v)), fmt.Sprintf("%d tickets breached an SLA target in the last 90 days", int(v))
			}},
		{Name: "satisfaction",
			SQL: `SELECT account_id, avg(satisfaction)::float8 FROM ` + listsSchema + `.tickets WHERE account_id = ANY($1)
				AND satisfaction IS NOT NULL AND opened_at > $2::timestamptz - interval '` + healthWindow + `' GROUP BY account_id`,
			Penalty: func(v float64, ok bool) (int, string) {
				switch {
				case !ok:
					return 0, "no satisfaction scores in the last 90 days"
				case v <= 2:
					return 20, fmt.Sprintf("average satisfaction %.2f of 5", v)
				case v < 3.5:
					return 10, fmt.Sprintf("average satisfaction %.2f of 5", v)
				}
				return 0, fmt.Sprintf("average satisfaction %.2f of 5", v)
			}},
		{Name: "activity_recency",
			SQL: `SELECT x.account_id, extract(epoch FROM $2::timestamptz - max(act.logged_at)) / 86400 FROM (
					SELECT a.id AS account_id, a.id AS entity_id FROM unnest($1::text[]) AS a(id)
					UNION ALL SELECT account_id, id FROM ` + listsSchema + `.opportunities WHERE account_id = ANY($1)
					UNION ALL SELECT account_id, id FROM ` + listsSchema + `.tickets WHERE account_id = ANY($1)
				) x JOIN ` + engagementSchema + `.activities act ON act.entity_id = x.entity_id GROUP BY x.account_id`,
			Penalty: func(v float64, ok bool) (int, string) {
				switch {
				case !ok:
					return 20, "no activity logged"
				case v > 60:
					return 20, fmt.Sprintf("last activity %d days ago", int(v))
				case v > 30:
					return 10, fmt.Sprintf("last activity %d days ago", int(v))
				}
				return 0, fmt.Sprintf("last activity %d days ago", int(v))
			}},
		{Name: "open_pipeline",
			SQL: `SELECT account_id, count(*)::float8 FROM ` + listsSchema + `.opportunities WHERE account_id = ANY($1)
				AND stage NOT IN ('closed_won', 'closed_lost') AND $2::timestamptz IS NOT NULL GROUP BY account_id`,
			Penalty: func(v float64, ok bool) (int, string) {
				if !ok {
					return 10, "no open opportunities"
				}
				return 0, fmt.Sprintf("%d open opportunities", int(v))
			}},
	}
}

// FactorReading is one factor of an account's health.
type FactorReading struct {
	Name    string   `json:"name"`
	Value   *float64 `json:"value"`
	Penalty int      `json:"penalty"`
	Detail  string   `json:"detail"`
}

// Health is an account's health: 100 minus every factor's penalty (never
// below 0), its status and the factors.
type Health struct {
	Score   int             `json:"score"`
	Status  string          `json:"status"`
	Factors []FactorReading `json:"factors"`
}

// healthStatus is the status of a score.
func healthStatus(score int) string {
	switch {
	case score < 50:
		return HealthAtRisk
	case score < 75:
		return HealthWatch
	}
	return HealthHealthy
}

// AccountHealth returns the health of each account in ids at now,
// measured by factors (nil: DefaultHealthFactors).
func (q *Queries) AccountHealth(ctx context.Context, ids []string, now time.Time, factors []HealthFactor) (map[string]Health, error) {
	if factors == nil {
		factors = DefaultHealthFactors()
	}
	values := make([]map[string]float64, len(factors))
	batch := &pgx.Batch{}
	for i, f := range factors {
		values[i] = map[string]float64{}
		m := values[i]
		batch.Queue(f.SQL, ids, now.UTC()).Query(func(rows pgx.Rows) error {
			defer rows.Close()
			for rows.Next() {
				var id string
				var v *float64
				if err := rows.Scan(&id, &v); err != nil {
					return err
				}
				if v != nil {
					m[id] = *v
				}
			}
			return rows.Err()
		})
	}
	if err := q.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("account health: %w", err)
	}
	out := make(map[string]Health, len(ids))
	for _, id := range ids {
		h := Health{Score: 100, Factors: make([]FactorReading, len(factors))}
		for i, f := range factors {
			v, ok := values[i][id]
			p, detail := f.Penalty(v, ok)
			r := FactorReading{Name: f.Name, Penalty: p, Detail: detail}
			if ok {
				vv := v
				r.Value = &vv
			}
			h.Factors[i] = r
			h.Score -= p
		}
		h.Score = max(0, h.Score)
		h.Status = healthStatus(h.Score)
		out[id] = h
	}
	return out, nil
}

// AccountHealthRow is an account of GET /v1/accounts?health= with its
// health.
type AccountHealthRow struct {
	AccountRow
	Health Health `json:"health"`
}

// AccountsByHealth returns a page of accounts matching f whose health at
// now has the given status, in the order of Accounts. It reads the
// accounts in pages of 200 and keeps those that match until the page is
// full. Errors: as Accounts, and ErrInvalid for an unknown status.
func (q *Queries) AccountsByHealth(ctx context.Context, f AccountFilter, status string, now time.Time, factors []HealthFactor) (Page[AccountHealthRow], error) {
	if !slices.Contains(HealthStatuses, status) {
		return Page[AccountHealthRow]{}, fmt.Errorf("%w: health must be one of %s", ErrInvalid, strings.Join(HealthStatuses, ", "))
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return Page[AccountHealthRow]{}, fmt.Errorf("%w: limit must be from 1 to %d", ErrInvalid, MaxLimit)
	}
	out := Page[AccountHealthRow]{Items: []AccountHealthRow{}}
	scan := f
	scan.Limit = 200
	for {
		page, err := q.Accounts(ctx, scan)
		if err != nil {
			return Page[AccountHealthRow]{}, err
		}
		ids := make([]string, len(page.Items))
		for i, a := range page.Items {
			ids[i] = a.ID
		}
		health, err := q.AccountHealth(ctx, ids, now, factors)
		if err != nil {
			return Page[AccountHealthRow]{}, err
		}
		for _, a := range page.Items {
			h := health[a.ID]
			if h.Status != status {
				continue
			}
			if len(out.Items) == limit {
				last := out.Items[limit-1]
				key, desc, err := pickSort(accountSorts, f.Sort)
				if err != nil {
					return Page[AccountHealthRow]{}, err
				}
				name := key.name
				if desc {
					name = "-" + name
				}
				c := encodeCursor(name, key.value(last.AccountRow), last.ID)
				out.NextCursor = &c
				return out, nil
			}
			out.Items = append(out.Items, AccountHealthRow{AccountRow: a, Health: h})
		}
		if page.NextCursor == nil {
			return out, nil
		}
		scan.Cursor = *page.NextCursor
	}
}
