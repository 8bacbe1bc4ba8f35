package readmodels

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// TaskRow is one task of GET /v1/tasks: an activity of kind task. Overdue
// is true when it is not done and its due time is before the query's Now;
// RemindedAt is when its reminder fired (null before).
type TaskRow struct {
	ID         string     `json:"id"`
	EntityType string     `json:"entity_type"`
	EntityID   string     `json:"entity_id"`
	Subject    string     `json:"subject"`
	OwnerID    string     `json:"owner_id,omitempty"`
	DueAt      *time.Time `json:"due_at"`
	Done       bool       `json:"done"`
	Overdue    bool       `json:"overdue"`
	RemindedAt *time.Time `json:"reminded_at"`
	LoggedAt   time.Time  `json:"logged_at"`
}

// TaskFilter selects tasks; empty fields do not filter. DueBefore selects
// tasks due strictly before it; Now decides Overdue. Limit and Cursor are
// as in LeadFilter; tasks are ordered by when they were logged.
type TaskFilter struct {
	OwnerID   string
	DueBefore *time.Time
	Done      *bool
	Now       time.Time
	Limit     int
	Cursor    string
}

// Tasks returns a page of tasks matching f. Errors: ErrInvalid for a
// malformed cursor, limit or filter value.
func (q *Queries) Tasks(ctx context.Context, f TaskFilter) (Page[TaskRow], error) {
	var w where
	w.conds = append(w.conds, "kind = 'task'")
	if err := w.equal("owner_id", "owner_id", f.OwnerID); err != nil {
		return Page[TaskRow]{}, err
	}
	if f.DueBefore != nil {
		w.conds = append(w.conds, "due_at < "+w.arg(f.DueBefore.UTC())+"::timestamptz")
	}
	if f.Done != nil {
		w.conds = append(w.conds, "done = "+w.arg(*f.Done)+"::boolean")
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return Page[TaskRow]{}, fmt.Errorf("%w: limit must be from 1 to %d", ErrInvalid, MaxLimit)
	}
	if f.Cursor != "" {
		at, id, err := decodeTimeCursor(f.Cursor)
		if err != nil {
			return Page[TaskRow]{}, err
		}
		w.conds = append(w.conds, fmt.Sprintf("(logged_at, id) > (%s::timestamptz, %s::text)", w.arg(at), w.arg(id)))
	}
	now := w.arg(f.Now.UTC())
	sql := `SELECT id, entity_type, entity_id, subject, owner_id, due_at, done, (NOT done AND due_at < ` + now + `::timestamptz),
		reminded_at, logged_at FROM ` + engagementSchema + `.activities WHERE ` + strings.Join(w.conds, " AND ") +
		` ORDER BY logged_at, id LIMIT ` + w.arg(limit+1)
	rows, err := q.pool.Query(ctx, sql, w.args...)
	if err != nil {
		return Page[TaskRow]{}, fmt.Errorf("list tasks: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskRow, error) {
		var t TaskRow
		var overdue *bool
		err := r.Scan(&t.ID, &t.EntityType, &t.EntityID, &t.Subject, &t.OwnerID, &t.DueAt, &t.Done, &overdue, &t.RemindedAt, &t.LoggedAt)
		t.Overdue = overdue != nil && *overdue
		t.DueAt, t.RemindedAt, t.LoggedAt = utcPtr(t.DueAt), utcPtr(t.RemindedAt), t.LoggedAt.UTC()
		return t, err
	})
	if err != nil {
		return Page[TaskRow]{}, fmt.Errorf("list tasks: %w", err)
	}
	page := Page[TaskRow]{Items: items}
	if page.Items == nil {
		page.Items = []TaskRow{}
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		c := encodeTimeCursor(page.Items[limit-1].LoggedAt, page.Items[limit-1].ID)
		page.NextCursor = &c
	}
	return page, nil
}
