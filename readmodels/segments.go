package readmodels

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SegmentQuery selects a segment's members: Entity is leads, accounts or
// contacts; every set field must match (see aggregates.SegmentFilter for
// which apply to which). A record without activity matches any
// LastActivityBefore and no LastActivityAfter. A lead never scored has
// score 0.
type SegmentQuery struct {
	Entity                                string
	Region, Industry, Size, Tier          string
	Tags                                  []string
	ScoreMin, ScoreMax                    *int
	Source, Campaign, Status              string
	LastActivityBefore, LastActivityAfter *time.Time
	Limit                                 int
	Cursor                                string
}

// segmentWhere builds the conditions of q over its entity's list table.
func segmentWhere(q SegmentQuery) (*where, string, error) {
	w := &where{}
	add := func(cond string) { w.conds = append(w.conds, cond) }
	eq := func(col, v string) {
		if v != "" {
			add(col + " = " + w.arg(v))
		}
	}
	lastActivity := func(idExpr string) {
		last := `(SELECT max(logged_at) FROM ` + engagementSchema + `.activities act WHERE act.entity_id = ` + idExpr + `)`
		if q.LastActivityBefore != nil {
			add("(" + last + " IS NULL OR " + last + " < " + w.arg(q.LastActivityBefore.UTC()) + "::timestamptz)")
		}
		if q.LastActivityAfter != nil {
			add(last + " > " + w.arg(q.LastActivityAfter.UTC()) + "::timestamptz")
		}
	}
	switch q.Entity {
	case "leads":
		eq("leads.region", q.Region)
		eq("leads.industry", q.Industry)
		eq("leads.company_size", q.Size)
		eq("leads.source", q.Source)
		eq("leads.campaign", q.Campaign)
		eq("leads.status", q.Status)
		score := `coalesce((SELECT score FROM ` + engagementSchema + `.lead_scores s WHERE s.id = leads.id), 0)`
		if q.ScoreMin != nil {
			add(score + " >= " + w.arg(*q.ScoreMin) + "::int")
		}
		if q.ScoreMax != nil {
			add(score + " <= " + w.arg(*q.ScoreMax) + "::int")
		}
		lastActivity("leads.id")
		return w, "leads", nil
	case "accounts":
		eq("accounts.region", q.Region)
		eq("accounts.industry", q.Industry)
		eq("accounts.size", q.Size)
		eq("accounts.tier", q.Tier)
		if len(q.Tags) > 0 {
			add("accounts.tags @> " + w.arg(q.Tags) + "::text[]")
		}
		lastActivity("accounts.id")
		return w, "accounts", nil
	case "contacts":
		sub := []string{}
		aeq := func(col, v string) {
			if v != "" {
				sub = append(sub, col+" = "+w.arg(v))
			}
		}
		aeq("a.region", q.Region)
		aeq("a.industry", q.Industry)
		aeq("a.size", q.Size)
		aeq("a.tier", q.Tier)
		if len(q.Tags) > 0 {
			sub = append(sub, "a.tags @> "+w.arg(q.Tags)+"::text[]")
		}
		for _, c := range sub {
			add(`EXISTS (SELECT 1 FROM ` + listsSchema + `.accounts a WHERE a.id = contacts.account_id AND ` + c + `)`)
		}
		lastActivity("contacts.account_id")
		return w, "contacts", nil
	}
	return nil, "", fmt.Errorf("%w: entity must be leads, accounts or contacts", ErrInvalid)
}

// SegmentCount counts a segment's members.
func (q *Queries) SegmentCount(ctx context.Context, s SegmentQuery) (int, error) {
	w, table, err := segmentWhere(s)
	if err != nil {
		return 0, err
	}
	sql := "SELECT count(*) FROM " + listsSchema + "." + table
	if len(w.conds) > 0 {
		sql += " WHERE " + joinAnd(w.conds)
	}
	var n int
	if err := q.pool.QueryRow(ctx, sql, w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("segment count: %w", err)
	}
	return n, nil
}

// SegmentLeads, SegmentAccounts and SegmentContacts return a keyset page
// of a segment's members, in the order of their lists.
func (q *Queries) SegmentLeads(ctx context.Context, s SegmentQuery) (Page[LeadRow], error) {
	s.Entity = "leads"
	w, _, err := segmentWhere(s)
	if err != nil {
		return Page[LeadRow]{}, err
	}
	return q.leadsWhere(ctx, w, s.Limit, s.Cursor, "")
}

// SegmentAccounts: see SegmentLeads.
func (q *Queries) SegmentAccounts(ctx context.Context, s SegmentQuery) (Page[AccountRow], error) {
	s.Entity = "accounts"
	w, _, err := segmentWhere(s)
	if err != nil {
		return Page[AccountRow]{}, err
	}
	return q.accountsWhere(ctx, w, s.Limit, s.Cursor, "")
}

// SegmentContacts: see SegmentLeads.
func (q *Queries) SegmentContacts(ctx context.Context, s SegmentQuery) (Page[ContactRow], error) {
	s.Entity = "contacts"
	w, _, err := segmentWhere(s)
	if err != nil {
		return Page[ContactRow]{}, err
	}
	return q.contactsWhere(ctx, w, s.Limit, s.Cursor, "")
}

// joinAnd joins conditions with AND.
func joinAnd(conds []string) string { return strings.Join(conds, " AND ") }
