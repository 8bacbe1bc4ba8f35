package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"crm/aggregates"
	"crm/readmodels"
)

// ListQueries are the entity lists (read models of the "lists" projector).
// Each returns a keyset page; a malformed cursor is readmodels.ErrCursor
// and another bad argument wraps readmodels.ErrInvalid.
type ListQueries interface {
	Leads(ctx context.Context, f readmodels.LeadFilter) (readmodels.Page[readmodels.LeadRow], error)
	Accounts(ctx context.Context, f readmodels.AccountFilter) (readmodels.Page[readmodels.AccountRow], error)
	Contacts(ctx context.Context, f readmodels.ContactFilter) (readmodels.Page[readmodels.ContactRow], error)
	Opportunities(ctx context.Context, f readmodels.OpportunityFilter) (readmodels.Page[readmodels.OpportunityRow], error)
	Tickets(ctx context.Context, f readmodels.TicketFilter) (readmodels.Page[readmodels.TicketRow], error)
	// Search finds records of several types by name (readmodels.Search).
	Search(ctx context.Context, f readmodels.SearchFilter) ([]readmodels.SearchHit, error)
	// Users is the users directory (projector "directory").
	Users(ctx context.Context, f readmodels.UserFilter) (readmodels.Page[readmodels.UserRow], error)
}

// listsProjector is the projector the list routes read.
const listsProjector = readmodels.ListsProjector

// maxListParam is the longest free-text or id filter value, in bytes.
const maxListParam = 200

// listRoutes mounts the entity lists: GET /leads, /accounts, /contacts,
// /opportunities and /tickets.
func (s *server) listRoutes(r chi.Router) {
	r.With(require(permSalesRead)).Get("/leads", listOrExport(s, "leads", leadColumns, listsProjector, parseLeadFilter,
		func(ctx context.Context, f readmodels.LeadFilter) (readmodels.Page[readmodels.LeadRow], error) {
			return s.lists.Leads(ctx, f)
		}, func(f readmodels.LeadFilter, c string) readmodels.LeadFilter {
			f.Limit, f.Cursor = exportChunk, c
			return f
		}))
	accounts := listOrExport(s, "accounts", accountColumns, listsProjector, parseAccountFilter,
		func(ctx context.Context, f readmodels.AccountFilter) (readmodels.Page[readmodels.AccountRow], error) {
			return s.lists.Accounts(ctx, f)
		}, func(f readmodels.AccountFilter, c string) readmodels.AccountFilter {
			f.Limit, f.Cursor = exportChunk, c
			return f
		})
	r.With(require(permAccountsRead)).Get("/accounts", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("health") {
			s.accountsByHealth(w, r)
			return
		}
		accounts(w, r)
	})
	r.With(require(permAccountsRead)).Get("/contacts", listOrExport(s, "contacts", contactColumns, listsProjector, parseContactFilter,
		func(ctx context.Context, f readmodels.ContactFilter) (readmodels.Page[readmodels.ContactRow], error) {
			return s.lists.Contacts(ctx, f)
		}, func(f readmodels.ContactFilter, c string) readmodels.ContactFilter {
			f.Limit, f.Cursor = exportChunk, c
			return f
		}))
	r.With(require(permSalesRead)).Get("/opportunities", listOrExport(s, "opportunities", opportunityColumns, listsProjector, parseOpportunityFilter,
		func(ctx context.Context, f readmodels.OpportunityFilter) (readmodels.Page[readmodels.OpportunityRow], error) {
			return s.lists.Opportunities(ctx, f)
		}, func(f readmodels.OpportunityFilter, c string) readmodels.OpportunityFilter {
			f.Limit, f.Cursor = exportChunk, c
			return f
		}))
	r.With(require(permServiceRead)).Get("/tickets", listOrExport(s, "tickets", ticketColumns, listsProjector, parseTicketFilter,
		func(ctx context.Context, f readmodels.TicketFilter) (readmodels.Page[readmodels.TicketRow], error) {
			return s.lists.Tickets(ctx, f)
		}, func(f readmodels.TicketFilter, c string) readmodels.TicketFilter {
			f.Limit, f.Cursor = exportChunk, c
			return f
		}))
}

// listHandler serves one list: it parses the filter (400 naming a bad
// parameter), honours min_position, queries and answers 200 with the page.
func listHandler[F, T any](s *server, projector string, parse func(*http.Request) (F, error),
	query func(context.Context, F) (readmodels.Page[T], error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := parse(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		if !s.caughtUp(w, r, projector, readmodels.DirectoryProjector) {
			return
		}
		page, err := query(r.Context(), f)
		writePage(s, w, r, page, err)
	}
}

// writePage answers a keyset page (items always an array), or its error:
// a malformed cursor is a 400 naming cursor.
func writePage[T any](s *server, w http.ResponseWriter, r *http.Request, page readmodels.Page[T], err error) {
	if errors.Is(err, readmodels.ErrCursor) {
		err = badField("cursor", "must be the next_cursor of an earlier page, unchanged")
	}
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	if page.Items == nil {
		page.Items = []T{}
	}
	writeJSON(w, http.StatusOK, page)
}

// listParams reads the query parameters of a list, remembering the first
// bad one.
type listParams struct {
	r   *http.Request
	err error
}

// fail records the first bad parameter.
func (p *listParams) fail(name, msg string) {
	if p.err == nil {
		p.err = badField(name, msg)
	}
}

// text returns a free-text or id parameter: valid UTF-8 without NUL, at
// most 200 bytes.
func (p *listParams) text(name string) string {
	v := p.r.URL.Query().Get(name)
	switch {
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		p.fail(name, "must be valid UTF-8 text without NUL characters")
	case len(v) > maxListParam:
		p.fail(name, "must be at most 200 bytes")
	default:
		return v
	}
	return ""
}

// enum returns a parameter that must be one of allowed (or absent).
func (p *listParams) enum(name string, allowed ...string) string {
	v := p.r.URL.Query().Get(name)
	if v != "" && !slices.Contains(allowed, v) {
		p.fail(name, "must be one of "+strings.Join(allowed, ", "))
		return ""
	}
	return v
}

// id returns a parameter that must be a UUID (or absent), lower-cased.
func (p *listParams) id(name string) string {
	v := p.r.URL.Query().Get(name)
	if v != "" && !isUUID(v) {
		p.fail(name, "must be a UUID")
		return ""
	}
	return strings.ToLower(v)
}

// date returns a parameter that must be a calendar date YYYY-MM-DD (or
// absent).
func (p *listParams) date(name string) string {
	v := p.r.URL.Query().Get(name)
	if v == "" {
		return ""
	}
	if d, err := time.Parse(time.DateOnly, v); err != nil || d.Format(time.DateOnly) != v {
		p.fail(name, "must be a calendar date YYYY-MM-DD")
		return ""
	}
	return v
}

// boolean returns a parameter that must be true or false (or absent: nil).
func (p *listParams) boolean(name string) *bool {
	switch p.r.URL.Query().Get(name) {
	case "":
		return nil
	case "true":
		t := true
		return &t
	case "false":
		f := false
		return &f
	}
	p.fail(name, "must be true or false")
	return nil
}

// page returns ?limit= and ?cursor=.
func (p *listParams) page() (int, string) {
	limit, err := limitParam(p.r)
	if err != nil && p.err == nil {
		p.err = err
	}
	cursor := p.r.URL.Query().Get("cursor")
	if len(cursor) > 1024 {
		p.fail("cursor", "must be the next_cursor of an earlier page, unchanged")
		return limit, ""
	}
	return limit, cursor
}

// leadStatuses are the values of ?status= on GET /leads.
var leadStatuses = []string{aggregates.LeadCaptured, aggregates.LeadContacted, aggregates.LeadQualified,
	aggregates.LeadDisqualified, aggregates.LeadConverted}

// ticketStatuses are the values of ?status= on GET /tickets.
var ticketStatuses = []string{aggregates.TicketOpen, aggregates.TicketResolved, aggregates.TicketClosed}

func parseLeadFilter(r *http.Request) (readmodels.LeadFilter, error) {
	p := &listParams{r: r}
	f := readmodels.LeadFilter{Status: p.enum("status", leadStatuses...), OwnerID: p.text("owner_id"),
		Source: p.text("source"), Campaign: p.text("campaign"), Q: p.text("q")}
	f.Sort = p.enum("sort", readmodels.SortValues(readmodels.LeadSorts)...)
	f.Limit, f.Cursor = p.page()
	return f, p.err
}

func parseAccountFilter(r *http.Request) (readmodels.AccountFilter, error) {
	p := &listParams{r: r}
	f := readmodels.AccountFilter{OwnerID: p.text("owner_id"), Tier: p.enum("tier", aggregates.AccountTiers...),
		Tag: p.text("tag"), Q: p.text("q")}
	f.Sort = p.enum("sort", readmodels.SortValues(readmodels.AccountSorts)...)
	f.Limit, f.Cursor = p.page()
	return f, p.err
}

func parseContactFilter(r *http.Request) (readmodels.ContactFilter, error) {
	p := &listParams{r: r}
	f := readmodels.ContactFilter{AccountID: p.id("account_id"), Q: p.text("q")}
	f.Sort = p.enum("sort", readmodels.SortValues(readmodels.ContactSorts)...)
	f.Limit, f.Cursor = p.page()
	return f, p.err
}

func parseOpportunityFilter(r *http.Request) (readmodels.OpportunityFilter, error) {
	p := &listParams{r: r}
	f := readmodels.OpportunityFilter{Stage: p.enum("stage", aggregates.Stages...), OwnerID: p.text("owner_id"),
		AccountID: p.id("account_id"), ClosingBefore: p.date("closing_before"), Q: p.text("q")}
	f.Sort = p.enum("sort", readmodels.SortValues(readmodels.OpportunitySorts)...)
	f.Limit, f.Cursor = p.page()
	return f, p.err
}

func parseTicketFilter(r *http.Request) (readmodels.TicketFilter, error) {
	p := &listParams{r: r}
	f := readmodels.TicketFilter{Status: p.enum("status", ticketStatuses...),
		Priority: p.enum("priority", aggregates.TicketPriorities...), AssigneeID: p.text("assignee_id"),
		AccountID: p.id("account_id"), Breached: p.boolean("breached"), Now: time.Now(), Q: p.text("q")}
	f.Sort = p.enum("sort", readmodels.SortValues(readmodels.TicketSorts)...)
	f.Limit, f.Cursor = p.page()
	return f, p.err
}
