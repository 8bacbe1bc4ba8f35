package readmodels

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ArticleHit is one article a search found, best match first. Rank is
// PostgreSQL's ts_rank of the article's vector against the query.
type ArticleHit struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Tags      []string  `json:"tags"`
	Status    string    `json:"status"`
	Version   int       `json:"article_version"`
	Rank      float64   `json:"rank"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ArticleSearch selects articles: those matching any term of Q (see
// SearchQuery), only published ones when Published is set. Limit is 1 to
// MaxLimit (0: DefaultLimit).
type ArticleSearch struct {
	Q         string
	Published bool
	Limit     int
}

// SearchArticles returns the articles matching s, best first (ties: the
// most recently updated, then by id). An empty Q, or one without a
// searchable term, matches every article, most recently updated first.
func (q *Queries) SearchArticles(ctx context.Context, s ArticleSearch) ([]ArticleHit, error) {
	if err := checkText("q", s.Q); err != nil {
		return nil, err
	}
	limit := s.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit {
		return nil, fmt.Errorf("%w: limit must be from 1 to %d", ErrInvalid, MaxLimit)
	}
	english, cjk := SearchQuery(s.Q)
	query := "NULL::tsquery"
	args := []any{limit, s.Published}
	switch {
	case english != "" && cjk != "":
		query = "(to_tsquery('english', $3) || $4::tsquery)"
		args = append(args, english, cjk)
	case english != "":
		query = "to_tsquery('english', $3)"
		args = append(args, english)
	case cjk != "":
		query = "$3::tsquery"
		args = append(args, cjk)
	}
	match := "true"
	if query != "NULL::tsquery" {
		match = "search @@ q"
	}
	rows, err := q.pool.Query(ctx, `SELECT id, title, tags, status, version, coalesce(ts_rank(search, q), 0)::float8 AS rank, updated_at
		FROM `+engagementSchema+`.articles, (SELECT `+query+` AS q) AS query
		WHERE `+match+` AND (NOT $2 OR status = 'published')
		ORDER BY rank DESC, updated_at DESC, id LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("search articles: %w", err)
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ArticleHit, error) {
		var h ArticleHit
		err := r.Scan(&h.ID, &h.Title, &h.Tags, &h.Status, &h.Version, &h.Rank, &h.UpdatedAt)
		h.UpdatedAt = h.UpdatedAt.UTC()
		if h.Tags == nil {
			h.Tags = []string{}
		}
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("search articles: %w", err)
	}
	if hits == nil {
		hits = []ArticleHit{}
	}
	return hits, nil
}

// LinkedArticle is an article linked to a ticket.
type LinkedArticle struct {
	ArticleID      string    `json:"article_id"`
	ArticleVersion int       `json:"article_version"`
	Title          string    `json:"title"`
	LinkedAt       time.Time `json:"linked_at"`
}

// TicketArticles returns the articles linked to a ticket, in the order
// they were linked.
func (q *Queries) TicketArticles(ctx context.Context, ticketID string) ([]LinkedArticle, error) {
	rows, err := q.pool.Query(ctx, `SELECT t.article_id, t.article_version, coalesce(a.title, ''), t.linked_at
		FROM `+engagementSchema+`.ticket_articles t LEFT JOIN `+engagementSchema+`.articles a ON a.id = t.article_id
		WHERE t.ticket_id = $1 ORDER BY t.linked_at, t.article_id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket articles: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LinkedArticle, error) {
		var l LinkedArticle
		err := r.Scan(&l.ArticleID, &l.ArticleVersion, &l.Title, &l.LinkedAt)
		l.LinkedAt = l.LinkedAt.UTC()
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("ticket articles: %w", err)
	}
	if out == nil {
		out = []LinkedArticle{}
	}
	return out, nil
}

// KnowledgeStats are the knowledge base's figures on the service side.
type KnowledgeStats struct {
	// PublishedArticles counts published articles.
	PublishedArticles int `json:"published_articles"`
	// TicketsWithArticle counts tickets with at least one linked article.
	TicketsWithArticle int `json:"tickets_with_article"`
	// ResolvedWithArticle counts resolved or closed tickets with at least
	// one linked article.
	ResolvedWithArticle int `json:"resolved_with_article"`
	// ResolvedTickets counts resolved or closed tickets.
	ResolvedTickets int `json:"resolved_tickets"`
}

// KnowledgeStats returns the knowledge base's service figures.
func (q *Queries) KnowledgeStats(ctx context.Context) (KnowledgeStats, error) {
	var s KnowledgeStats
	err := q.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM `+engagementSchema+`.articles WHERE status = 'published'),
		(SELECT count(DISTINCT ticket_id) FROM `+engagementSchema+`.ticket_articles),
		(SELECT count(*) FROM `+listsSchema+`.tickets t WHERE t.status IN ('resolved', 'closed')
			AND EXISTS (SELECT 1 FROM `+engagementSchema+`.ticket_articles a WHERE a.ticket_id = t.id)),
		(SELECT count(*) FROM `+listsSchema+`.tickets WHERE status IN ('resolved', 'closed'))`).
		Scan(&s.PublishedArticles, &s.TicketsWithArticle, &s.ResolvedWithArticle, &s.ResolvedTickets)
	if err != nil {
		return KnowledgeStats{}, fmt.Errorf("knowledge stats: %w", err)
	}
	return s, nil
}
