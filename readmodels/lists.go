package readmodels

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ListsSchema is the DDL of the entity lists (projector "lists"): one table
// per entity with what its list shows and filters on. Table names are
// unqualified; the projector runs it with search_path set to its schema.
// Optional text columns hold the empty string when absent; the time of
// creation and the id order every list.
const ListsSchema = `
CREATE TABLE leads (
	id                      text COLLATE "C" PRIMARY KEY,
	status                  text NOT NULL,
	name                    text NOT NULL,
	company                 text NOT NULL,
	email                   text NOT NULL,
	phone                   text NOT NULL DEFAULT '',
	source                  text NOT NULL,
	campaign                text NOT NULL DEFAULT '',
	region                  text NOT NULL DEFAULT '',
	industry                text NOT NULL DEFAULT '',
	company_size            text NOT NULL DEFAULT '',
	owner_id                text NOT NULL DEFAULT '',
	contact_attempts        integer NOT NULL DEFAULT 0,
	disqualification_reason text NOT NULL DEFAULT '',
	account_id              text NOT NULL DEFAULT '',
	contact_id              text NOT NULL DEFAULT '',
	opportunity_id          text NOT NULL DEFAULT '',
	captured_at             timestamptz NOT NULL,
	converted_at            timestamptz,
	updated_at              timestamptz NOT NULL DEFAULT '-infinity',
	score                   integer NOT NULL DEFAULT 0
);
CREATE INDEX leads_captured ON leads (captured_at, id);
CREATE INDEX leads_status ON leads (status, captured_at, id);
CREATE INDEX leads_owner ON leads (owner_id, captured_at, id);
CREATE INDEX leads_source ON leads (source, captured_at, id);
CREATE INDEX leads_campaign ON leads (campaign, captured_at, id);
CREATE INDEX leads_updated ON leads (updated_at, id);
CREATE INDEX leads_score ON leads (score, id);

CREATE TABLE accounts (
	id        text COLLATE "C" PRIMARY KEY,
	name      text NOT NULL,
	industry  text NOT NULL DEFAULT '',
	size      text NOT NULL DEFAULT '',
	region    text NOT NULL DEFAULT '',
	tier      text NOT NULL,
	owner_id  text NOT NULL DEFAULT '',
	tags       text[] NOT NULL DEFAULT '{}',
	opened_at  timestamptz NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX accounts_opened ON accounts (opened_at, id);
CREATE INDEX accounts_owner ON accounts (owner_id, opened_at, id);
CREATE INDEX accounts_tier ON accounts (tier, opened_at, id);
CREATE INDEX accounts_tags ON accounts USING gin (tags);
CREATE INDEX accounts_updated ON accounts (updated_at, id);

CREATE TABLE contacts (
	id         text COLLATE "C" PRIMARY KEY,
	account_id text NOT NULL,
	name       text NOT NULL,
	email      text NOT NULL,
	phone      text NOT NULL DEFAULT '',
	title      text NOT NULL DEFAULT '',
	role       text NOT NULL DEFAULT '',
	added_at   timestamptz NOT NULL
);
CREATE INDEX contacts_added ON contacts (added_at, id);
CREATE INDEX contacts_account ON contacts (account_id, added_at, id);

CREATE TABLE opportunities (
	id                  text COLLATE "C" PRIMARY KEY,
	account_id          text NOT NULL,
	lead_id             text NOT NULL DEFAULT '',
	name                text NOT NULL,
	amount              numeric NOT NULL,
	currency            text NOT NULL,
	expected_close_date date NOT NULL,
	owner_id            text NOT NULL DEFAULT '',
	stage               text NOT NULL,
	probability         integer NOT NULL,
	forecast_category   text NOT NULL,
	lost_reason         text NOT NULL DEFAULT '',
	opened_at           timestamptz NOT NULL,
	closed_at           timestamptz,
	updated_at          timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX opportunities_opened ON opportunities (opened_at, id);
CREATE INDEX opportunities_stage ON opportunities (stage, opened_at, id);
CREATE INDEX opportunities_owner ON opportunities (owner_id, opened_at, id);
CREATE INDEX opportunities_account ON opportunities (account_id, opened_at, id);
CREATE INDEX opportunities_close_date ON opportunities (expected_close_date);
CREATE INDEX opportunities_updated ON opportunities (updated_at, id);

CREATE TABLE tickets (
	id                  text COLLATE "C" PRIMARY KEY,
	subject             text NOT NULL,
	account_id          text NOT NULL DEFAULT '',
	contact_id          text NOT NULL DEFAULT '',
	priority            text NOT NULL,
	channel             text NOT NULL,
	status              text NOT NULL,
	assignee_id         text NOT NULL DEFAULT '',
	escalation_level    integer NOT NULL DEFAULT 0,
	first_response_due  timestamptz NOT NULL,
	resolution_due      timestamptz NOT NULL,
	first_response_at   timestamptz,
	first_response_late boolean NOT NULL DEFAULT false,
	resolved_at         timestamptz,
	resolution_late     boolean NOT NULL DEFAULT false,
	closed_at           timestamptz,
	satisfaction        integer,
	opened_at           timestamptz NOT NULL,
	updated_at          timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX tickets_opened ON tickets (opened_at, id);
CREATE INDEX tickets_status ON tickets (status, opened_at, id);
CREATE INDEX tickets_priority ON tickets (priority, opened_at, id);
CREATE INDEX tickets_assignee ON tickets (assignee_id, opened_at, id);
CREATE INDEX tickets_account ON tickets (account_id, opened_at, id);
CREATE INDEX tickets_updated ON tickets (updated_at, id);
CREATE INDEX tickets_due ON tickets (resolution_due, id);
`

// The sort keys of each list, the default first (see LeadSorts and the
// others).
var (
	leadSorts = []sortKey[LeadRow]{
		timeKey("created", "captured_at", func(l LeadRow) time.Time { return l.CapturedAt }),
		timeKey("updated", "updated_at", func(l LeadRow) time.Time { return l.UpdatedAt }),
		textKey("name", "name", func(l LeadRow) string { return l.Name }),
		{name: "score", expr: "score", typ: "integer", value: func(l LeadRow) string { return strconv.Itoa(l.Score) }},
	}
	accountSorts = []sortKey[AccountRow]{
		timeKey("created", "opened_at", func(a AccountRow) time.Time { return a.OpenedAt }),
		timeKey("updated", "updated_at", func(a AccountRow) time.Time { return a.UpdatedAt }),
		textKey("name", "name", func(a AccountRow) string { return a.Name }),
	}
	contactSorts = []sortKey[ContactRow]{
		timeKey("created", "added_at", func(c ContactRow) time.Time { return c.AddedAt }),
		textKey("name", "name", func(c ContactRow) string { return c.Name }),
	}
	opportunitySorts = []sortKey[OpportunityRow]{
		timeKey("created", "opened_at", func(o OpportunityRow) time.Time { return o.OpenedAt }),
		timeKey("updated", "updated_at", func(o OpportunityRow) time.Time { return o.UpdatedAt }),
		// Qualified: the select list's amount::text is also named amount,
		// and ORDER BY would sort by that text.
		{name: "amount", expr: "opportunities.amount", typ: "numeric", value: func(o OpportunityRow) string { return o.Amount }},
		{name: "close_date", expr: "expected_close_date", typ: "date", value: func(o OpportunityRow) string { return o.ExpectedCloseDate }},
		textKey("name", "name", func(o OpportunityRow) string { return o.Name }),
	}
	ticketSorts = []sortKey[TicketRow]{
		timeKey("created", "opened_at", func(t TicketRow) time.Time { return t.OpenedAt }),
		timeKey("updated", "updated_at", func(t TicketRow) time.Time { return t.UpdatedAt }),
		{name: "priority", expr: ticketPriorityRank, typ: "integer", value: func(t TicketRow) string { return priorityRank(t.Priority) }},
		timeKey("due", "resolution_due", func(t TicketRow) time.Time { return t.ResolutionDue }),
	}
)

// The orders each list can be sorted in (?sort=): a key sorts ascending,
// "-" and a key descending; ties are broken by id in the same direction,
// so paging is stable. The first is the default. Ticket priority sorts
// urgent first and due is the resolution due time; opportunity amounts
// sort by number whatever their currency.
var (
	LeadSorts        = sortNames(leadSorts)
	AccountSorts     = sortNames(accountSorts)
	ContactSorts     = sortNames(contactSorts)
	OpportunitySorts = sortNames(opportunitySorts)
	TicketSorts      = sortNames(ticketSorts)
)

// ListsSearchIndexes is the DDL of the trigram indexes of the lists'
// free-text search, created with the list tables where pg_trgm is
// installed; opclassSchema is the schema of its gin_trgm_ops. Each indexes
// the joined text that the search conditions also test.
func ListsSearchIndexes(opclassSchema string) string {
	op := pgx.Identifier{opclassSchema, "gin_trgm_ops"}.Sanitize()
	return `CREATE INDEX leads_text ON leads USING gin ((` + leadText + `) ` + op + `);
CREATE INDEX accounts_text ON accounts USING gin ((` + accountText + `) ` + op + `);
CREATE INDEX contacts_text ON contacts USING gin ((` + contactText + `) ` + op + `);
CREATE INDEX opportunities_text ON opportunities USING gin ((` + opportunityText + `) ` + op + `);
CREATE INDEX tickets_text ON tickets USING gin ((` + ticketText + `) ` + op + `);`
}

// The searched text of each list: its searched columns joined by spaces.
const (
	leadText        = `name || ' ' || email || ' ' || company`
	accountText     = `name`
	contactText     = `name || ' ' || email`
	opportunityText = `name`
	ticketText      = `subject`
)

// listsSchema is the live schema of the lists projector.
const listsSchema = ListsSchemaName

// maxFilterLen is the longest text filter value, in bytes.
const maxFilterLen = 200

// LeadRow is one lead of GET /v1/leads. Optional text fields are omitted
// when empty; ConvertedAt is null until the lead converts.
type LeadRow struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Name        string `json:"name"`
	Company     string `json:"company"`
	Email       string `json:"email"`
	Phone       string `json:"phone,omitempty"`
	Source      string `json:"source"`
	Campaign    string `json:"campaign,omitempty"`
	Region      string `json:"region,omitempty"`
	Industry    string `json:"industry,omitempty"`
	CompanySize string `json:"company_size,omitempty"`
	OwnerID     string `json:"owner_id,omitempty"`
	// OwnerName is the owner's name in the users directory ("" when
	// unknown).
	OwnerName              string     `json:"owner_name,omitempty"`
	ContactAttempts        int        `json:"contact_attempts"`
	DisqualificationReason string     `json:"disqualification_reason,omitempty"`
	AccountID              string     `json:"account_id,omitempty"`
	ContactID              string     `json:"contact_id,omitempty"`
	OpportunityID          string     `json:"opportunity_id,omitempty"`
	CapturedAt             time.Time  `json:"captured_at"`
	ConvertedAt            *time.Time `json:"converted_at"`
	UpdatedAt              time.Time  `json:"updated_at"`
	// Score is the lead-scoring automation's latest score (0 before it).
	Score int `json:"score"`
}

// AccountRow is one account of GET /v1/accounts. Tags are sorted and never
// nil.
type AccountRow struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Industry string `json:"industry,omitempty"`
	Size     string `json:"size,omitempty"`
	Region   string `json:"region,omitempty"`
	Tier     string `json:"tier"`
	OwnerID  string `json:"owner_id,omitempty"`
	// OwnerName is the owner's name in the users directory ("" when
	// unknown).
	OwnerName string    `json:"owner_name,omitempty"`
	Tags      []string  `json:"tags"`
	OpenedAt  time.Time `json:"opened_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ContactRow is one contact of GET /v1/contacts.
type ContactRow struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone,omitempty"`
	Title     string    `json:"title,omitempty"`
	Role      string    `json:"role,omitempty"`
	AddedAt   time.Time `json:"added_at"`
}

// OpportunityRow is one opportunity of GET /v1/opportunities. Amount is a
// decimal string as it was given; ExpectedCloseDate is YYYY-MM-DD;
// ClosedAt is null while the opportunity is open.
type OpportunityRow struct {
	ID                string `json:"id"`
	AccountID         string `json:"account_id"`
	LeadID            string `json:"lead_id,omitempty"`
	Name              string `json:"name"`
	Amount            string `json:"amount"`
	Currency          string `json:"currency"`
	ExpectedCloseDate string `json:"expected_close_date"`
	OwnerID           string `json:"owner_id,omitempty"`
	// OwnerName is the owner's name in the users directory ("" when
	// unknown).
	OwnerName        string     `json:"owner_name,omitempty"`
	Stage            string     `json:"stage"`
	Probability      int        `json:"probability"`
	ForecastCategory string     `json:"forecast_category"`
	IsClosed         bool       `json:"is_closed"`
	LostReason       string     `json:"lost_reason,omitempty"`
	OpenedAt         time.Time  `json:"opened_at"`
	ClosedAt         *time.Time `json:"closed_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// TicketRow is one ticket of GET /v1/tickets. FirstResponseBreached and
// ResolutionBreached are the recorded breaches (a late first response, a
// late resolution); Breached also counts an open ticket past a due time at
// the query's Now.
type TicketRow struct {
	ID         string `json:"id"`
	Subject    string `json:"subject"`
	AccountID  string `json:"account_id,omitempty"`
	ContactID  string `json:"contact_id,omitempty"`
	Priority   string `json:"priority"`
	Channel    string `json:"channel"`
	Status     string `json:"status"`
	AssigneeID string `json:"assignee_id,omitempty"`
	// AssigneeName is the assignee's name in the users directory.
	AssigneeName          string     `json:"assignee_name,omitempty"`
	EscalationLevel       int        `json:"escalation_level"`
	FirstResponseDue      time.Time  `json:"first_response_due"`
	ResolutionDue         time.Time  `json:"resolution_due"`
	FirstResponseAt       *time.Time `json:"first_response_at"`
	ResolvedAt            *time.Time `json:"resolved_at"`
	ClosedAt              *time.Time `json:"closed_at"`
	FirstResponseBreached bool       `json:"first_response_breached"`
	ResolutionBreached    bool       `json:"resolution_breached"`
	Breached              bool       `json:"breached"`
	Satisfaction          *int       `json:"satisfaction"`
	OpenedAt              time.Time  `json:"opened_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
}

// LeadFilter selects leads; empty fields do not filter. Q matches a
// case-insensitive substring of the name, email or company. Limit is 1 to
// MaxLimit (0 means DefaultLimit); Cursor is a NextCursor of an earlier
// page with the same filter ("" for the first page).
type LeadFilter struct {
	Status, OwnerID, Source, Campaign, Q string
	Limit                                int
	Cursor                               string
	// Sort is one of SortValues(LeadSorts), "" for "created".
	Sort string
}

// AccountFilter selects accounts; empty fields do not filter. Tag selects
// accounts that have that tag; Q matches a case-insensitive substring of
// the name. Limit and Cursor are as in LeadFilter.
type AccountFilter struct {
	OwnerID, Tier, Tag, Q string
	Limit                 int
	Cursor                string
	// Sort is one of SortValues(AccountSorts), "" for "created".
	Sort string
}

// ContactFilter selects contacts; empty fields do not filter. Q matches a
// case-insensitive substring of the name or email. Limit and Cursor are as
// in LeadFilter.
type ContactFilter struct {
	AccountID, Q string
	Limit        int
	Cursor       string
	// Sort is one of SortValues(ContactSorts), "" for "created".
	Sort string
}

// OpportunityFilter selects opportunities; empty fields do not filter.
// ClosingBefore (YYYY-MM-DD) selects those expected to close strictly
// before that date; Q matches a case-insensitive substring of the name.
// Limit and Cursor are as in LeadFilter.
type OpportunityFilter struct {
	Stage, OwnerID, AccountID, ClosingBefore, Q string
	Limit                                       int
	Cursor                                      string
	// Sort is one of SortValues(OpportunitySorts), "" for "created".
	// Amounts sort by number whatever their currency.
	Sort string
}

// TicketFilter selects tickets; empty fields do not filter. Breached, when
// set, selects tickets that are (true) or are not (false) breached: a
// recorded late first response or late resolution, or an open ticket
// whose first-response (while unanswered) or resolution due time is
// before Now. Now defaults to the current time. Q matches a
// case-insensitive substring of the subject. Limit and Cursor are as in
// LeadFilter.
type TicketFilter struct {
	Status, Priority, AssigneeID, AccountID, Q string
	Breached                                   *bool
	Now                                        time.Time
	Limit                                      int
	Cursor                                     string
	// Sort is one of SortValues(TicketSorts), "" for "created".
	Sort string
}

// Leads returns a page of leads matching f, oldest captured first (ties by
// id). Errors: ErrCursor for a malformed cursor; ErrInvalid for a bad
// limit or filter value.
func (q *Queries) Leads(ctx context.Context, f LeadFilter) (Page[LeadRow], error) {
	var w where
	if err := w.equal("status", "status", f.Status); err != nil {
		return Page[LeadRow]{}, err
	}
	if err := w.equal("owner_id", "owner_id", f.OwnerID); err != nil {
		return Page[LeadRow]{}, err
	}
	if err := w.equal("source", "source", f.Source); err != nil {
		return Page[LeadRow]{}, err
	}
	if err := w.equal("campaign", "campaign", f.Campaign); err != nil {
		return Page[LeadRow]{}, err
	}
	if err := w.search(f.Q, "name", "email", "company"); err != nil {
		return Page[LeadRow]{}, err
	}
	return q.leadsWhere(ctx, &w, f.Limit, f.Cursor, f.Sort)
}

// leadsWhere is a page of leads matching w, in the order sort names.
func (q *Queries) leadsWhere(ctx context.Context, w *where, limit int, cursor, sort string) (Page[LeadRow], error) {
	return listPage(ctx, q, w, listQuery{
		table: "leads",
		columns: `id, status, name, company, email, phone, source, campaign, region, industry, company_size, owner_id,
			contact_attempts, disqualification_reason, account_id, contact_id, opportunity_id, captured_at, converted_at,
			updated_at, score, ` + ownerName("leads.owner_id"),
		limit: limit, cursor: cursor, sort: sort,
	}, leadSorts, func(row pgx.CollectableRow) (LeadRow, error) {
		var l LeadRow
		err := row.Scan(&l.ID, &l.Status, &l.Name, &l.Company, &l.Email, &l.Phone, &l.Source, &l.Campaign, &l.Region,
			&l.Industry, &l.CompanySize, &l.OwnerID, &l.ContactAttempts, &l.DisqualificationReason, &l.AccountID,
			&l.ContactID, &l.OpportunityID, &l.CapturedAt, &l.ConvertedAt, &l.UpdatedAt, &l.Score, &l.OwnerName)
		l.CapturedAt, l.ConvertedAt, l.UpdatedAt = l.CapturedAt.UTC(), utcPtr(l.ConvertedAt), l.UpdatedAt.UTC()
		return l, err
	}, func(l LeadRow) string { return l.ID })
}

// Accounts returns a page of accounts matching f, oldest opened first
// (ties by id). Errors: ErrInvalid for a malformed cursor, limit or filter
// value.
func (q *Queries) Accounts(ctx context.Context, f AccountFilter) (Page[AccountRow], error) {
	var w where
	if err := w.equal("owner_id", "owner_id", f.OwnerID); err != nil {
		return Page[AccountRow]{}, err
	}
	if err := w.equal("tier", "tier", f.Tier); err != nil {
		return Page[AccountRow]{}, err
	}
	if f.Tag != "" {
		if err := checkText("tag", f.Tag); err != nil {
			return Page[AccountRow]{}, err
		}
		w.conds = append(w.conds, "tags @> ARRAY["+w.arg(f.Tag)+"::text]")
	}
	if err := w.search(f.Q, "name"); err != nil {
		return Page[AccountRow]{}, err
	}
	return q.accountsWhere(ctx, &w, f.Limit, f.Cursor, f.Sort)
}

// accountsWhere is a page of accounts matching w, in the order sort names.
func (q *Queries) accountsWhere(ctx context.Context, w *where, limit int, cursor, sort string) (Page[AccountRow], error) {
	return listPage(ctx, q, w, listQuery{
		table:   "accounts",
		columns: `id, name, industry, size, region, tier, owner_id, tags, opened_at, updated_at, ` + ownerName("accounts.owner_id"),
		limit:   limit, cursor: cursor, sort: sort,
	}, accountSorts, func(row pgx.CollectableRow) (AccountRow, error) {
		var a AccountRow
		err := row.Scan(&a.ID, &a.Name, &a.Industry, &a.Size, &a.Region, &a.Tier, &a.OwnerID, &a.Tags, &a.OpenedAt, &a.UpdatedAt, &a.OwnerName)
		a.OpenedAt, a.UpdatedAt = a.OpenedAt.UTC(), a.UpdatedAt.UTC()
		if a.Tags == nil {
			a.Tags = []string{}
		}
		return a, err
	}, func(a AccountRow) string { return a.ID })
}

// Contacts returns a page of contacts matching f, oldest added first (ties
// by id). Errors: ErrInvalid for a malformed cursor, limit or filter
// value.
func (q *Queries) Contacts(ctx context.Context, f ContactFilter) (Page[ContactRow], error) {
	var w where
	if err := w.equal("account_id", "account_id", f.AccountID); err != nil {
		return Page[ContactRow]{}, err
	}
	if err := w.search(f.Q, "name", "email"); err != nil {
		return Page[ContactRow]{}, err
	}
	return q.contactsWhere(ctx, &w, f.Limit, f.Cursor, f.Sort)
}

// contactsWhere is a page of contacts matching w, in the order sort names.
func (q *Queries) contactsWhere(ctx context.Context, w *where, limit int, cursor, sort string) (Page[ContactRow], error) {
	return listPage(ctx, q, w, listQuery{
		table:   "contacts",
		columns: `id, account_id, name, email, phone, title, role, added_at`,
		limit:   limit, cursor: cursor, sort: sort,
	}, contactSorts, func(row pgx.CollectableRow) (ContactRow, error) {
		var c ContactRow
		err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.Email, &c.Phone, &c.Title, &c.Role, &c.AddedAt)
		c.AddedAt = c.AddedAt.UTC()
		return c, err
	}, func(c ContactRow) string { return c.ID })
}

// Opportunities returns a page of opportunities matching f, oldest opened
// first (ties by id). Errors: ErrInvalid for a malformed cursor, limit,
// closing_before date or filter value.
func (q *Queries) Opportunities(ctx context.Context, f OpportunityFilter) (Page[OpportunityRow], error) {
	var w where
	if err := w.equal("stage", "stage", f.Stage); err != nil {
		return Page[OpportunityRow]{}, err
	}
	if err := w.equal("owner_id", "owner_id", f.OwnerID); err != nil {
		return Page[OpportunityRow]{}, err
	}
	if err := w.equal("account_id", "account_id", f.AccountID); err != nil {
		return Page[OpportunityRow]{}, err
	}
	if f.ClosingBefore != "" {
		d, err := time.Parse(time.DateOnly, f.ClosingBefore)
		if err != nil || d.Format(time.DateOnly) != f.ClosingBefore {
			return Page[OpportunityRow]{}, fmt.Errorf("%w: closing_before must be a date YYYY-MM-DD", ErrInvalid)
		}
		w.conds = append(w.conds, "expected_close_date < "+w.arg(f.ClosingBefore)+"::date")
	}
	if err := w.search(f.Q, "name"); err != nil {
		return Page[OpportunityRow]{}, err
	}
	return listPage(ctx, q, &w, listQuery{
		table: "opportunities",
		columns: `id, account_id, lead_id, name, amount::text, currency, to_char(expected_close_date, 'YYYY-MM-DD'),
			owner_id, stage, probability, forecast_category, stage IN ('closed_won', 'closed_lost'), lost_reason,
			opened_at, closed_at, updated_at, ` + ownerName("opportunities.owner_id"),
		limit: f.Limit, cursor: f.Cursor, sort: f.Sort,
	}, opportunitySorts, func(row pgx.CollectableRow) (OpportunityRow, error) {
		var o OpportunityRow
		err := row.Scan(&o.ID, &o.AccountID, &o.LeadID, &o.Name, &o.Amount, &o.Currency, &o.ExpectedCloseDate,
			&o.OwnerID, &o.Stage, &o.Probability, &o.ForecastCategory, &o.IsClosed, &o.LostReason, &o.OpenedAt, &o.ClosedAt,
			&o.UpdatedAt, &o.OwnerName)
		o.OpenedAt, o.ClosedAt, o.UpdatedAt = o.OpenedAt.UTC(), utcPtr(o.ClosedAt), o.UpdatedAt.UTC()
		return o, err
	}, func(o OpportunityRow) string { return o.ID })
}

// ticketBreached is the SQL of a ticket's breach at the time in parameter
// %s.
const ticketBreached = `(first_response_late OR resolution_late OR (status = 'open' AND
	((first_response_at IS NULL AND first_response_due < %[1]s) OR resolution_due < %[1]s)))`

// Tickets returns a page of tickets matching f, oldest opened first (ties
// by id). Errors: ErrInvalid for a malformed cursor, limit or filter
// value.
func (q *Queries) Tickets(ctx context.Context, f TicketFilter) (Page[TicketRow], error) {
	var w where
	if err := w.equal("status", "status", f.Status); err != nil {
		return Page[TicketRow]{}, err
	}
	if err := w.equal("priority", "priority", f.Priority); err != nil {
		return Page[TicketRow]{}, err
	}
	if err := w.equal("assignee_id", "assignee_id", f.AssigneeID); err != nil {
		return Page[TicketRow]{}, err
	}
	if err := w.equal("account_id", "account_id", f.AccountID); err != nil {
		return Page[TicketRow]{}, err
	}
	if err := w.search(f.Q, "subject"); err != nil {
		return Page[TicketRow]{}, err
	}
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	breached := fmt.Sprintf(ticketBreached, w.arg(now.UTC())+"::timestamptz")
	if f.Breached != nil {
		if *f.Breached {
			w.conds = append(w.conds, breached)
		} else {
			w.conds = append(w.conds, "NOT "+breached)
		}
	}
	return listPage(ctx, q, &w, listQuery{
		table: "tickets",
		columns: `id, subject, account_id, contact_id, priority, channel, status, assignee_id, escalation_level,
			first_response_due, resolution_due, first_response_at, resolved_at, closed_at, first_response_late,
			resolution_late, ` + breached + `, satisfaction, opened_at, updated_at, ` + ownerName("tickets.assignee_id"),
		limit: f.Limit, cursor: f.Cursor, sort: f.Sort,
	}, ticketSorts, func(row pgx.CollectableRow) (TicketRow, error) {
		var t TicketRow
		err := row.Scan(&t.ID, &t.Subject, &t.AccountID, &t.ContactID, &t.Priority, &t.Channel, &t.Status, &t.AssigneeID,
			&t.EscalationLevel, &t.FirstResponseDue, &t.ResolutionDue, &t.FirstResponseAt, &t.ResolvedAt, &t.ClosedAt,
			&t.FirstResponseBreached, &t.ResolutionBreached, &t.Breached, &t.Satisfaction, &t.OpenedAt, &t.UpdatedAt, &t.AssigneeName)
		t.FirstResponseDue, t.ResolutionDue, t.OpenedAt = t.FirstResponseDue.UTC(), t.ResolutionDue.UTC(), t.OpenedAt.UTC()
		t.UpdatedAt = t.UpdatedAt.UTC()
		t.FirstResponseAt, t.ResolvedAt, t.ClosedAt = utcPtr(t.FirstResponseAt), utcPtr(t.ResolvedAt), utcPtr(t.ClosedAt)
		return t, err
	}, func(t TicketRow) string { return t.ID })
}

// where collects the conditions and arguments of a list query.
type where struct {
	conds []string
	args  []any
}

// arg adds v as a query argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// equal adds column = v unless v is empty; param names the filter in
// errors.
func (w *where) equal(param, column, v string) error {
	if v == "" {
		return nil
	}
	if err := checkText(param, v); err != nil {
		return err
	}
	w.conds = append(w.conds, column+" = "+w.arg(v))
	return nil
}

// search adds a case-insensitive substring match of q on any of columns,
// unless q is blank.
func (w *where) search(q string, columns ...string) error {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	if err := checkText("q", q); err != nil {
		return err
	}
	p := w.arg("%" + escapeLike(q) + "%")
	ors := make([]string, len(columns))
	for i, c := range columns {
		ors[i] = c + ` ILIKE ` + p + ` ESCAPE '\'`
	}
	// The joined text contains every column's match: testing it as well
	// changes no result and lets the trigram index find the candidates.
	w.conds = append(w.conds, "("+strings.Join(columns, " || ' ' || ")+") ILIKE "+p+` ESCAPE '\'`,
		"("+strings.Join(ors, " OR ")+")")
	return nil
}

// escapeLike escapes the LIKE wildcards of s (with backslash as the
// escape character).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// checkText refuses a filter value PostgreSQL cannot take or that is
// longer than any stored value.
func checkText(param, v string) error {
	switch {
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, param)
	case strings.ContainsRune(v, 0):
		return fmt.Errorf("%w: %s contains a NUL character", ErrInvalid, param)
	case len(v) > maxFilterLen:
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalid, param, maxFilterLen)
	}
	return nil
}

// listQuery describes one keyset-paginated list over a table of the lists
// schema.
type listQuery struct {
	// schema is the table's schema (empty: the lists').
	schema         string
	table, columns string
	limit          int
	cursor, sort   string
}

// listPage runs lq with the conditions of w and returns the page: at most
// limit rows after the cursor, in the order lq.sort names among sorts (the
// first by default), ties broken by id, and the cursor of the next page
// when there are more. A sort value that a cursor carries but the column
// type refuses is ErrCursor.
func listPage[T any](ctx context.Context, q *Queries, w *where, lq listQuery, sorts []sortKey[T],
	scan func(pgx.CollectableRow) (T, error), id func(T) string) (Page[T], error) {
	limit := lq.limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return Page[T]{}, fmt.Errorf("%w: limit must be from 1 to %d", ErrInvalid, MaxLimit)
	}
	key, desc, err := pickSort(sorts, lq.sort)
	if err != nil {
		return Page[T]{}, err
	}
	dir, cmp := "", ">"
	if desc {
		dir, cmp = " DESC", "<"
	}
	sortName := key.name
	if desc {
		sortName = "-" + key.name
	}
	if lq.cursor != "" {
		c, err := decodeCursor(lq.cursor, sortName)
		if err != nil {
			return Page[T]{}, err
		}
		w.conds = append(w.conds, fmt.Sprintf("(%s, id) %s (%s::%s, %s::text)", key.expr, cmp, w.arg(c.Value), key.typ, w.arg(c.ID)))
	}
	schema := lq.schema
	if schema == "" {
		schema = listsSchema
	}
	sql := "SELECT " + lq.columns + " FROM " + schema + "." + lq.table
	if len(w.conds) > 0 {
		sql += " WHERE " + strings.Join(w.conds, " AND ")
	}
	sql += " ORDER BY " + key.expr + dir + ", id" + dir + " LIMIT " + w.arg(limit+1)
	rows, err := q.pool.Query(ctx, sql, w.args...)
	if err != nil {
		var pgErr *pgconn.PgError
		if lq.cursor != "" && errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") {
			return Page[T]{}, ErrCursor
		}
		return Page[T]{}, fmt.Errorf("list %s: %w", lq.table, err)
	}
	items, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return Page[T]{}, fmt.Errorf("list %s: %w", lq.table, err)
	}
	page := Page[T]{Items: items}
	if page.Items == nil {
		page.Items = []T{}
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		c := encodeCursor(sortName, key.value(last), id(last))
		page.NextCursor = &c
	}
	return page, nil
}

// utcPtr returns *t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// OwnedRecord is an open record a user owns (a lead, account or
// opportunity) or is assigned (a ticket): its entity type and id.
type OwnedRecord struct {
	Type, ID string
}

// OwnedOpenRecords lists the open records of user: leads neither
// converted nor disqualified, accounts, opportunities not closed and
// tickets not closed, oldest first within each type.
func (q *Queries) OwnedOpenRecords(ctx context.Context, user string) ([]OwnedRecord, error) {
	rows, err := q.pool.Query(ctx, strings.ReplaceAll(`
		SELECT 'lead', id FROM S.leads WHERE owner_id = $1 AND status NOT IN ('converted', 'disqualified')
		UNION ALL SELECT 'account', id FROM S.accounts WHERE owner_id = $1
		UNION ALL SELECT 'opportunity', id FROM S.opportunities WHERE owner_id = $1 AND closed_at IS NULL
		UNION ALL SELECT 'ticket', id FROM S.tickets WHERE assignee_id = $1 AND status <> 'closed'`, "S.", listsSchema+"."), user)
	if err != nil {
		return nil, fmt.Errorf("owned records of %s: %w", user, err)
	}
	defer rows.Close()
	var out []OwnedRecord
	for rows.Next() {
		var r OwnedRecord
		if err := rows.Scan(&r.Type, &r.ID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
