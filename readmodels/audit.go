package readmodels

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditSchema is the DDL of the audit timeline (projector "audit"): one row
// per event of the log. position is the event's log cursor (32 lowercase
// hex digits, which sort in log order) and orders the timeline; the other
// indexes serve the filters in that order. Optional text columns hold the
// empty string when absent; changes is a JSON array of AuditChange. Table
// names are unqualified; the projector runs it with search_path set to its
// schema.
const AuditSchema = `
CREATE TABLE entries (
	position       text COLLATE "C" PRIMARY KEY,
	recorded_at    timestamptz NOT NULL,
	actor          text COLLATE "C" NOT NULL,
	entity_type    text COLLATE "C" NOT NULL,
	entity_id      text COLLATE "C" NOT NULL,
	event_type     text COLLATE "C" NOT NULL,
	summary        text NOT NULL,
	changes        jsonb NOT NULL DEFAULT '[]',
	command_id     text NOT NULL DEFAULT '',
	correlation_id text NOT NULL DEFAULT '',
	causation_id   text NOT NULL DEFAULT ''
);
CREATE INDEX entries_entity ON entries (entity_id, position);
CREATE INDEX entries_entity_type ON entries (entity_type, position);
CREATE INDEX entries_actor ON entries (actor, position);
CREATE INDEX entries_event_type ON entries (event_type, position);
CREATE INDEX entries_recorded ON entries (recorded_at, position);
`

// auditSchema is the live schema of the audit projector.
const auditSchema = AuditSchemaName

// Entity types of the audit timeline.
const (
	AuditLead        = "lead"
	AuditAccount     = "account"
	AuditContact     = "contact"
	AuditOpportunity = "opportunity"
	AuditTicket      = "ticket"
	// AuditUser is a user of the CRM's directory.
	AuditUser = "user"
	// AuditSubject is a data subject (a person), whose stream records
	// the erasure of their personal data.
	AuditSubject = "subject"
	// Lead-to-cash entities; a forecast is one owner's target and
	// adjustments for one period.
	AuditProduct   = "product"
	AuditPriceBook = "price_book"
	AuditQuote     = "quote"
	AuditOrder     = "order"
	AuditForecast  = "forecast"
	// AuditCampaign, AuditWebForm and AuditArticle are marketing
	// campaigns, web-to-lead forms and knowledge-base articles.
	AuditCampaign = "campaign"
	AuditWebForm  = "webform"
	AuditArticle  = "article"
	// AuditSegment is a saved segment.
	AuditSegment = "segment"
)

// AuditEntityTypes are the values of AuditEntry.EntityType and of
// AuditFilter.EntityType.
var AuditEntityTypes = []string{AuditLead, AuditAccount, AuditContact, AuditOpportunity, AuditTicket, AuditSubject,
	AuditProduct, AuditPriceBook, AuditQuote, AuditOrder, AuditForecast, AuditCampaign, AuditWebForm, AuditArticle, AuditSegment, AuditUser}

// AuditExportChunk is how many entries AuditEach reads per query.
const AuditExportChunk = 1000

// AuditChange is one field an event changed: its value before and after,
// as JSON values (nil, which encodes as null, where there was or is none).
type AuditChange struct {
	Field string          `json:"field"`
	From  json.RawMessage `json:"from"`
	To    json.RawMessage `json:"to"`
}

// AuditEntry is one entry of the audit timeline: one event, who recorded
// it when, what it is about, a human summary and the fields it changed.
// Changes is never nil. Position is the event's log cursor.
type AuditEntry struct {
	Position      string        `json:"position"`
	RecordedAt    time.Time     `json:"recorded_at"`
	Actor         string        `json:"actor"`
	EntityType    string        `json:"entity_type"`
	EntityID      string        `json:"entity_id"`
	EventType     string        `json:"event_type"`
	Summary       string        `json:"summary"`
	Changes       []AuditChange `json:"changes"`
	CommandID     string        `json:"command_id"`
	CorrelationID string        `json:"correlation_id"`
	CausationID   string        `json:"causation_id"`
}

// AuditFilter selects audit entries; empty fields do not filter.
// EntityType is one of AuditEntityTypes. Type is an exact event type
// ("lead.captured.v1") or a prefix ending in "*" ("lead.*"). From is
// inclusive and To exclusive; zero times do not bound. Limit is 1 to
// MaxLimit (0 means DefaultLimit); Cursor is a NextCursor of an earlier
// page with the same filter ("" for the first page).
type AuditFilter struct {
	EntityType, EntityID, Actor, Type string
	From, To                          time.Time
	Limit                             int
	Cursor                            string
}

// auditColumns are the columns of an AuditEntry, in scan order.
const auditColumns = `position, recorded_at, actor, entity_type, entity_id, event_type, summary, changes,
	command_id, correlation_id, causation_id`

// Audit returns a page of the audit timeline matching f, in log order.
// Errors: ErrCursor for a malformed cursor; ErrInvalid for a bad limit or
// filter value.
func (q *Queries) Audit(ctx context.Context, f AuditFilter) (Page[AuditEntry], error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return Page[AuditEntry]{}, fmt.Errorf("%w: limit must be from 1 to %d", ErrInvalid, MaxLimit)
	}
	if err := checkAuditFilter(f); err != nil {
		return Page[AuditEntry]{}, err
	}
	items, err := q.auditChunk(ctx, f, f.Cursor, limit+1)
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	page := Page[AuditEntry]{Items: items}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		c := page.Items[limit-1].Position
		page.NextCursor = &c
	}
	return page, nil
}

// AuditEach calls fn with every entry of the audit timeline matching f, in
// log order, starting after f.Cursor (from the start when empty); f.Limit
// is ignored. It reads AuditExportChunk entries per query (keyset over the
// position), so its memory does not grow with the timeline, and holds no
// database connection while fn runs. It stops at fn's first error and
// returns it. Errors: as Audit, and fn's.
func (q *Queries) AuditEach(ctx context.Context, f AuditFilter, fn func(AuditEntry) error) error {
	if err := checkAuditFilter(f); err != nil {
		return err
	}
	after := f.Cursor
	for {
		chunk, err := q.auditChunk(ctx, f, after, AuditExportChunk)
		if err != nil {
			return err
		}
		for _, e := range chunk {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(chunk) < AuditExportChunk {
			return nil
		}
		after = chunk[len(chunk)-1].Position
	}
}

// checkAuditFilter validates the filter values and the cursor of f.
func checkAuditFilter(f AuditFilter) error {
	if f.EntityType != "" && !slices.Contains(AuditEntityTypes, f.EntityType) {
		return fmt.Errorf("%w: entity_type must be one of %s", ErrInvalid, strings.Join(AuditEntityTypes, ", "))
	}
	for _, p := range []struct{ name, v string }{{"entity_id", f.EntityID}, {"actor", f.Actor}, {"type", f.Type}} {
		if err := checkText(p.name, p.v); err != nil {
			return err
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return fmt.Errorf("%w: to must be after from", ErrInvalid)
	}
	if f.Cursor != "" && !isPosition(f.Cursor) {
		return ErrCursor
	}
	return nil
}

// isPosition reports whether s is a log cursor: 32 lowercase hex digits.
func isPosition(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// auditChunk returns up to limit entries matching f after the position
// after ("" for the start), in log order. f must have been checked.
func (q *Queries) auditChunk(ctx context.Context, f AuditFilter, after string, limit int) ([]AuditEntry, error) {
	var w where
	if f.EntityType != "" {
		w.conds = append(w.conds, "entity_type = "+w.arg(f.EntityType))
	}
	if f.EntityID != "" {
		w.conds = append(w.conds, "entity_id = "+w.arg(f.EntityID))
	}
	if f.Actor != "" {
		w.conds = append(w.conds, "actor = "+w.arg(f.Actor))
	}
	if prefix, ok := strings.CutSuffix(f.Type, "*"); ok {
		if prefix != "" {
			w.conds = append(w.conds, "event_type LIKE "+w.arg(escapeLike(prefix)+"%")+` ESCAPE '\'`)
		}
	} else if f.Type != "" {
		w.conds = append(w.conds, "event_type = "+w.arg(f.Type))
	}
	if !f.From.IsZero() {
		w.conds = append(w.conds, "recorded_at >= "+w.arg(f.From.UTC())+"::timestamptz")
	}
	if !f.To.IsZero() {
		w.conds = append(w.conds, "recorded_at < "+w.arg(f.To.UTC())+"::timestamptz")
	}
	if after != "" {
		w.conds = append(w.conds, "position > "+w.arg(after)+"::text")
	}
	sql := "SELECT " + auditColumns + " FROM " + auditSchema + ".entries"
	if len(w.conds) > 0 {
		sql += " WHERE " + strings.Join(w.conds, " AND ")
	}
	sql += " ORDER BY position LIMIT " + w.arg(limit)
	rows, err := q.pool.Query(ctx, sql, w.args...)
	if err != nil {
		return nil, fmt.Errorf("audit timeline: %w", err)
	}
	items, err := pgx.CollectRows(rows, scanAuditEntry)
	if err != nil {
		return nil, fmt.Errorf("audit timeline: %w", err)
	}
	if items == nil {
		items = []AuditEntry{}
	}
	return items, nil
}

// scanAuditEntry scans one row of auditColumns.
func scanAuditEntry(row pgx.CollectableRow) (AuditEntry, error) {
	var (
		e       AuditEntry
		changes []byte
	)
	if err := row.Scan(&e.Position, &e.RecordedAt, &e.Actor, &e.EntityType, &e.EntityID, &e.EventType, &e.Summary,
		&changes, &e.CommandID, &e.CorrelationID, &e.CausationID); err != nil {
		return e, err
	}
	return finishAuditEntry(e, changes)
}

// finishAuditEntry completes a scanned entry with its changes.
func finishAuditEntry(e AuditEntry, changes []byte) (AuditEntry, error) {
	e.RecordedAt = e.RecordedAt.UTC()
	if err := json.Unmarshal(changes, &e.Changes); err != nil {
		return e, fmt.Errorf("changes of %s: %w", e.Position, err)
	}
	if e.Changes == nil {
		e.Changes = []AuditChange{}
	}
	for i := range e.Changes {
		e.Changes[i].From, e.Changes[i].To = nullAsNil(e.Changes[i].From), nullAsNil(e.Changes[i].To)
	}
	return e, nil
}

// nullAsNil returns nil for an absent or JSON null value, else v.
func nullAsNil(v json.RawMessage) json.RawMessage {
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}
