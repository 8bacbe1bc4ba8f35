package readmodels

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The record types one search spans (SearchFilter.Types).
const (
	SearchLead        = "lead"
	SearchAccount     = "account"
	SearchContact     = "contact"
	SearchOpportunity = "opportunity"
	SearchTicket      = "ticket"
)

// SearchTypes are every type a search can span, in the order results of
// equal rank are listed.
var SearchTypes = []string{SearchLead, SearchAccount, SearchContact, SearchOpportunity, SearchTicket}

// MaxSearchLimit is the most results one search returns.
const MaxSearchLimit = 100

// SearchFilter is one search: Q, a case-insensitive substring of the
// fields each type is searched by (lead name, email and company; account
// name; contact name and email; opportunity name; ticket subject), over
// Types (empty: none). Limit is 1 to MaxSearchLimit (0: 20).
type SearchFilter struct {
	Q     string
	Types []string
	Limit int
}

// SearchHit is one record a search found. Title is its name (a ticket's
// subject), Detail what tells records of one name apart (a lead's company
// and email, a contact's email, an opportunity's amount and currency, an
// account's tier), Status its status, stage or tier, and Match the field
// that matched first. UpdatedAt is the row's updated_at (a contact's
// added_at).
type SearchHit struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Detail    string    `json:"detail"`
	Status    string    `json:"status"`
	Match     string    `json:"match"`
	UpdatedAt time.Time `json:"updated_at"`
}

// searchSources are, per type, the SELECT over its list table: the hit's
// columns, then its rank (0: a field equals the query, 1: one starts with
// it, 2: one contains it), from parameters $1 (the lower-cased query) and
// $2 (its LIKE pattern).
var searchSources = map[string]string{
	SearchLead: `SELECT 'lead', id, name, company || ' · ' || email, status,
		CASE WHEN name ILIKE $2 ESCAPE '\' THEN 'name' WHEN email ILIKE $2 ESCAPE '\' THEN 'email' ELSE 'company' END,
		updated_at, ` + searchRank("name", "email", "company") + `
		FROM ` + listsSchema + `.leads WHERE (` + leadText + `) ILIKE $2 ESCAPE '\'
		AND (name ILIKE $2 ESCAPE '\' OR email ILIKE $2 ESCAPE '\' OR company ILIKE $2 ESCAPE '\')`,
	SearchAccount: `SELECT 'account', id, name, tier, tier, 'name', updated_at, ` + searchRank("name") + `
		FROM ` + listsSchema + `.accounts WHERE name ILIKE $2 ESCAPE '\'`,
	SearchContact: `SELECT 'contact', id, name, email, role,
		CASE WHEN name ILIKE $2 ESCAPE '\' THEN 'name' ELSE 'email' END, added_at, ` + searchRank("name", "email") + `
		FROM ` + listsSchema + `.contacts WHERE (` + contactText + `) ILIKE $2 ESCAPE '\'
		AND (name ILIKE $2 ESCAPE '\' OR email ILIKE $2 ESCAPE '\')`,
	SearchOpportunity: `SELECT 'opportunity', id, name, amount::text || ' ' || currency, stage, 'name', updated_at, ` + searchRank("name") + `
		FROM ` + listsSchema + `.opportunities WHERE name ILIKE $2 ESCAPE '\'`,
	SearchTicket: `SELECT 'ticket', id, subject, priority, status, 'subject', updated_at, ` + searchRank("subject") + `
		FROM ` + listsSchema + `.tickets WHERE subject ILIKE $2 ESCAPE '\'`,
}

// searchRank is the rank expression over columns (see searchSources).
func searchRank(columns ...string) string {
	eq, prefix := make([]string, len(columns)), make([]string, len(columns))
	for i, c := range columns {
		eq[i] = "lower(" + c + ") = $1"
		prefix[i] = "lower(" + c + ") LIKE $3 ESCAPE '\\'"
	}
	return "CASE WHEN " + strings.Join(eq, " OR ") + " THEN 0 WHEN " + strings.Join(prefix, " OR ") + " THEN 1 ELSE 2 END"
}

// Search returns the records of f.Types that match f.Q, best first: exact
// matches, then prefixes, then substrings; within a rank the most
// recently updated first, then by type and id. Errors: ErrInvalid for a
// blank or bad query, an unknown type or a bad limit.
func (q *Queries) Search(ctx context.Context, f SearchFilter) ([]SearchHit, error) {
	text := strings.TrimSpace(f.Q)
	if text == "" {
		return nil, fmt.Errorf("%w: q must not be blank", ErrInvalid)
	}
	if err := checkText("q", text); err != nil {
		return nil, err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = 20
	case limit < 0 || limit > MaxSearchLimit:
		return nil, fmt.Errorf("%w: limit must be from 1 to %d", ErrInvalid, MaxSearchLimit)
	}
	var parts []string
	for _, t := range SearchTypes {
		if slices.Contains(f.Types, t) {
			parts = append(parts, "("+searchSources[t]+")")
		}
	}
	for _, t := range f.Types {
		if !slices.Contains(SearchTypes, t) {
			return nil, fmt.Errorf("%w: types must be of %s", ErrInvalid, strings.Join(SearchTypes, ", "))
		}
	}
	if len(parts) == 0 {
		return []SearchHit{}, nil
	}
	low := strings.ToLower(text)
	sql := `SELECT type, id, title, detail, status, match, updated_at FROM (` + strings.Join(parts, "\nUNION ALL\n") +
		`) AS h(type, id, title, detail, status, match, updated_at, rank)
		ORDER BY rank, updated_at DESC, array_position($4::text[], type), id LIMIT $5`
	rows, err := q.pool.Query(ctx, sql, low, "%"+escapeLike(text)+"%", escapeLike(low)+"%", SearchTypes, limit)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	hits, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SearchHit, error) {
		var h SearchHit
		err := row.Scan(&h.Type, &h.ID, &h.Title, &h.Detail, &h.Status, &h.Match, &h.UpdatedAt)
		h.UpdatedAt = h.UpdatedAt.UTC()
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if hits == nil {
		hits = []SearchHit{}
	}
	return hits, nil
}
